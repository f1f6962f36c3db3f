"""Authentication for the xAPI and admin endpoints: every request but /about and health needs
a credential (HTTP Basic, an LRS token or an external OIDC token: see lrs.auth.gate).

Missing or wrong credentials get 401 with `WWW-Authenticate` (and a JSON body, not
Starlette's plain-text default); too many failures get 429 with `Retry-After`; scope checks
(403) happen in the resources.
"""

from __future__ import annotations

from typing import Protocol

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from lrs.auth.scopes import Credential
from lrs.errors import error_response
from lrs.http.middleware import UNVERSIONED, is_xapi_path
from statements.errors import Unauthenticated, XAPIError

BEARER_CHALLENGE = 'Bearer realm="xAPI", error="invalid_token"'
ADMIN_CHALLENGE = 'Bearer realm="admin"'
"""Never a Basic challenge on /admin: a browser shown one asks for a login, then sends the
admin credential by itself with every later request there, cross-site form posts included.
Admin clients send their credential without waiting to be asked (curl -u, httpx, requests)."""


class Admitter(Protocol):
    async def admit(self, header: str | None, source: str | None) -> Credential: ...


class AuthMiddleware:
    def __init__(self, app: ASGIApp, gate: Admitter) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protected(scope):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        try:
            credential = await self.gate.admit(header, client_address(scope))
        except XAPIError as error:
            response = error_response(error)
            if isinstance(error, Unauthenticated) and error.error == "invalid_token":
                response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
            elif isinstance(error, Unauthenticated) and scope["path"].startswith("/admin/"):
                response.headers["WWW-Authenticate"] = ADMIN_CHALLENGE
            await response(scope, receive, send)
            return
        scope["credential"] = credential
        await self.app(scope, receive, send)

    @staticmethod
    def _protected(scope: Scope) -> bool:
        path: str = scope["path"]
        if path.startswith(("/admin/", "/feeds/", "/analytics/")) or path == "/metrics":
            return True
        return is_xapi_path(path) and path not in UNVERSIONED and scope["method"] != "OPTIONS"


def client_address(scope: Scope) -> str | None:
    """The peer's address (behind a proxy: as uvicorn's proxy-headers support rewrote it)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def credential_of(scope: Scope) -> Credential:
    credential = scope.get("credential")
    if not isinstance(credential, Credential):
        raise Unauthenticated("valid credentials are required (HTTP Basic or a Bearer token)")
    return credential
