"""Who is at the console: the session cookie, its live session and its credential.

Every page goes through `Console.page(handler)`: no session sends the browser to the
sign-in form; a session that has ended (expired, its credential revoked, its OIDC grant no
longer mapping to a scope: see `lrs.console.callers`) does too, with its cookie cleared and
a note saying why, which the form shows once; an ended session is deleted and audited as
`console.session_ended`. Every POST must echo the session's CSRF token; `admin=True` pages
answer 403 to other credentials. Handlers receive a `Visit`, never the raw cookie.
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
from lrs.console.callers import EXPIRED, Ended, session_caller
from lrs.console.render import Pages
from lrs.console.security import (
    ENDED_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    is_https,
    same_token,
    set_cookie,
)
from lrs.console.sessions import ConsoleSession, SessionStore
from lrs.errors import status_of
from lrs.services import Services
from statements.errors import XAPIError

LOGIN = "/console/login"
MAX_FORM_FIELDS = 64
SESSION_ENDED = "console.session_ended"
ENDED_NOTE_SECONDS = 300


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
            if isinstance(found, Response):
                return found
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
    ) -> tuple[ConsoleSession, Credential] | Response:
        """The live session and the caller it acts as now, or the way to the sign-in form."""
        token = request.cookies.get(SESSION_COOKIE, "")
        sessions = await self.sessions(services)
        session = await sessions.get(token)
        if session is None:
            return self._to_sign_in(request, EXPIRED if token else None)
        caller = await session_caller(session, services.credentials, self.gate.oidc)
        if isinstance(caller, Ended):
            await sessions.close(token)
            await services.audit.record(
                actor=session.key,
                action=SESSION_ENDED,
                source=client_address(request.scope),
                outcome=caller.reason,
            )
            return self._to_sign_in(request, caller.reason)
        return session, caller

    def _to_sign_in(self, request: Request, ended: str | None) -> Response:
        """To the sign-in form; after an ended session, without its cookie and with a note
        (a short-lived cookie the form reads once) saying why."""
        response = RedirectResponse(LOGIN, status_code=303)
        if ended is not None:
            secure = self.secure(request)
            clear_cookie(response, SESSION_COOKIE, secure=secure)
            set_cookie(response, ENDED_COOKIE, ended, secure=secure, max_age=ENDED_NOTE_SECONDS)
        return response

    def refuse(self, status: int, message: str) -> Response:
        return self.pages.render("error.html", {"status": status, "message": message}, status)
