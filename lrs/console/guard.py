"""Who is at the console: the session cookie, its live session and its credential.

Every page goes through `Console.page(handler)`: no session (or an expired one, or one whose
credential was revoked) sends the browser to the sign-in form; every POST must echo the
session's CSRF token; `admin=True` pages answer 403 to other credentials. Handlers receive a
`Visit`, never the raw cookie. A session opened through the OIDC provider has no stored
credential: it carries the scopes, authority and name its ID token granted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from lrs.auth.backend import client_address
from lrs.auth.gate import AuthGate
from lrs.auth.scopes import ADMIN, ANALYTICS_READ, Credential
from lrs.console.render import Pages
from lrs.console.security import SESSION_COOKIE, is_https, same_token
from lrs.console.sessions import ConsoleSession, SessionStore
from lrs.errors import status_of
from lrs.services import Services
from statements.errors import XAPIError

LOGIN = "/console/login"
MAX_FORM_FIELDS = 64


@dataclass(frozen=True, slots=True)
class Visit:
    request: Request
    services: Services
    session: ConsoleSession
    credential: Credential
    form: FormData | None
    """The posted form (CSRF already checked), None for GET."""
    pages: Pages

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.credential.scopes

    @property
    def source(self) -> str | None:
        return client_address(self.request.scope)

    def context(self, **values: Any) -> dict[str, Any]:
        """What every signed-in template needs, plus the page's own values."""
        return {
            "credential": self.credential,
            "is_admin": self.is_admin,
            "reads_analytics": self.credential.has_any({ADMIN, ANALYTICS_READ}),
            "csrf": self.session.csrf,
            **values,
        }

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        return self.pages.render(template, self.context(**values), status)

    def field(self, name: str) -> str:
        """A posted text field, stripped ('' when absent or a file)."""
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""


Handler = Callable[[Visit], Awaitable[Response]]


def identity_credential(key: str, identity: dict[str, Any]) -> Credential:
    """The caller of an OIDC session: what the provider's ID token granted at sign-in."""
    return Credential(
        key=key,
        scopes=frozenset(identity.get("scopes", ())),
        authority=dict(identity.get("authority", {})),
        name=str(identity.get("name", "")),
    )


class Console:
    """The console's shared parts, built with the app (before the database is open)."""

    def __init__(self, gate: AuthGate, lifetime: timedelta) -> None:
        self.gate = gate
        self.lifetime = lifetime
        self.pages = Pages()
        self._indexed = False

    async def sessions(self, services: Services) -> SessionStore:
        store = SessionStore(services.client[services.settings.database], self.lifetime)
        if not self._indexed:
            await store.ensure_indexes()
            self._indexed = True
        return store

    def secure(self, request: Request) -> bool:
        services: Services = request.state.services
        return is_https(request, services.settings.public_url)

    def page(self, handler: Handler, *, admin: bool = False) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            services: Services = request.state.services
            found = await self._signed_in(request, services)
            if found is None:
                return RedirectResponse(LOGIN, status_code=303)
            session, credential = found
            form = None
            if request.method == "POST":
                form = await request.form(max_fields=MAX_FORM_FIELDS)
                if not same_token(session.csrf, form.get("csrf")):
                    await form.close()
                    return self.refuse(403, "The form's CSRF token is missing or wrong.")
            visit = Visit(request, services, session, credential, form, self.pages)
            if admin and not visit.is_admin:
                return self.refuse(403, "This page needs a credential with the admin scope.")
            try:
                return await handler(visit)
            except XAPIError as error:  # the API's rule, shown as a page with the API's status
                return self.refuse(status_of(error), error.message)
            finally:
                if form is not None:  # uploaded files are spooled to disk: close them now
                    await form.close()

        return endpoint

    async def _signed_in(
        self, request: Request, services: Services
    ) -> tuple[ConsoleSession, Credential] | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        session = await (await self.sessions(services)).get(token)
        if session is None:
            return None
        if session.identity is not None:  # signed in through the OIDC provider
            return session, identity_credential(session.key, session.identity)
        credential = await services.credentials.active(session.key)
        return None if credential is None else (session, credential)

    def refuse(self, status: int, message: str) -> Response:
        return self.pages.render("error.html", {"status": status, "message": message}, status)
