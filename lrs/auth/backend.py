"""Authentication for the xAPI endpoints: every request but /about and health needs a credential.

Missing or wrong credentials get 401 with `WWW-Authenticate` (and a JSON body, not
Starlette's plain-text default); scope checks (403) happen in the resources.
"""

from __future__ import annotations

from typing import Protocol

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from lrs.auth.basic import parse_basic
from lrs.auth.scopes import Credential
from lrs.errors import error_response
from lrs.middleware import UNVERSIONED, is_xapi_path
from statements.errors import Unauthenticated


class Authenticator(Protocol):
    async def authenticate(self, key: str, secret: str) -> Credential | None: ...


class AuthMiddleware:
    def __init__(self, app: ASGIApp, credentials: Authenticator) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protected(scope):
            await self.app(scope, receive, send)
            return
        credential = await self._authenticate(Headers(scope=scope).get("authorization"))
        if credential is None:
            error = Unauthenticated("valid credentials are required (HTTP Basic)")
            await error_response(error)(scope, receive, send)
            return
        scope["credential"] = credential
        await self.app(scope, receive, send)

    @staticmethod
    def _protected(scope: Scope) -> bool:
        path: str = scope["path"]
        if path.startswith("/admin/") or path == "/metrics":
            return True
        return is_xapi_path(path) and path not in UNVERSIONED and scope["method"] != "OPTIONS"

    async def _authenticate(self, header: str | None) -> Credential | None:
        pair = parse_basic(header)
        if pair is None:
            return None
        return await self.credentials.authenticate(*pair)


def credential_of(scope: Scope) -> Credential:
    credential = scope.get("credential")
    if not isinstance(credential, Credential):
        raise Unauthenticated("valid credentials are required (HTTP Basic)")
    return credential
