"""Signing in and out of the console with an existing credential's key and secret (the
OIDC provider's sign-in is `lrs.console.oidc_login`).

The key and secret are checked by `AuthGate.client`, the same door as HTTP Basic: the same
credential store, the same brute-force limits (a locked key or address gets 429 here too)
and the same `auth.failed` audit entries (scheme `console`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from lrs.auth.backend import client_address
from lrs.console.callers import MESSAGES
from lrs.console.guard import Console, Visit
from lrs.console.security import (
    ENDED_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    same_token,
    set_cookie,
)
from lrs.services import Services
from statements.errors import TooManyRequests, Unauthenticated

LOGIN_FORM_SECONDS = 3600
MAX_FIELD = 256
SIGNED_IN = "console.signed_in"
SIGNED_OUT = "console.signed_out"


class Login:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def form(self, request: Request) -> Response:
        """The sign-in form; after a session ended, once, the reason it ended."""
        ended = request.cookies.get(ENDED_COOKIE)
        response = self._form(request, MESSAGES.get(ended or "", ""), 200)
        if ended is not None:
            clear_cookie(response, ENDED_COOKIE, secure=self.console.secure(request))
        return response

    def _form(self, request: Request, message: str, status: int, **headers: str) -> Response:
        token = secrets.token_urlsafe(32)
        context = {
            "csrf": token,
            "message": message,
            "oidc": self.console.gate.auth.oidc_client_id is not None,
        }
        response = self.console.pages.render("login.html", context, status, headers)
        secure = self.console.secure(request)
        set_cookie(response, LOGIN_COOKIE, token, secure=secure, max_age=LOGIN_FORM_SECONDS)
        return response

    async def submit(self, request: Request) -> Response:
        form = await request.form(max_fields=8)
        if not same_token(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
            return self._form(request, "The sign-in form expired: please try again.", 403)
        key, secret = form.get("key"), form.get("secret")
        if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
            return self._form(request, "Both the key and the secret are required.", 400)
        if len(key) > MAX_FIELD or len(secret) > MAX_FIELD:
            return self._form(request, "The key or the secret is too long.", 400)
        source = client_address(request.scope)
        try:
            credential = await self.console.gate.client(key, secret, source, via="console")
        except TooManyRequests as error:
            headers = {"Retry-After": str(error.retry_after)}
            return self._form(request, error.message, 429, **headers)
        except Unauthenticated:
            return self._form(request, "Wrong key or secret.", 401)
        return await self.open_session(request, credential.key, source)

    def refused_form(self, request: Request, message: str, status: int, **headers: str) -> Response:
        """The sign-in form again, saying why (for the OIDC callback)."""
        return self._form(request, message, status, **headers)

    async def open_session(
        self,
        request: Request,
        key: str,
        source: str | None,
        identity: dict[str, Any] | None = None,
        not_after: datetime | None = None,
    ) -> Response:
        """Open a session (an OIDC one when `identity` is given, lasting until `not_after`
        at the latest), audit it, set the cookie for as long as the session lasts."""
        services: Services = request.state.services
        sessions = await self.console.sessions(services)
        session = await sessions.open(key, identity, not_after=not_after)
        await services.audit.record(actor=key, action=SIGNED_IN, source=source)
        response = RedirectResponse("/console/", status_code=303)
        secure = self.console.secure(request)
        lifetime = max(0, int((session.expires - sessions.clock()).total_seconds()))
        set_cookie(response, SESSION_COOKIE, session.token, secure=secure, max_age=lifetime)
        clear_cookie(response, LOGIN_COOKIE, secure=secure)
        return response

    async def sign_out(self, visit: Visit) -> Response:
        await (await self.console.sessions(visit.services)).close(visit.session.token)
        await visit.services.audit.record(
            actor=visit.credential.key, action=SIGNED_OUT, source=visit.source
        )
        response = RedirectResponse("/console/login", status_code=303)
        clear_cookie(response, SESSION_COOKIE, secure=self.console.secure(visit.request))
        return response
