"""Authentication for the xAPI and admin endpoints: every request but /about and health needs
a credential (HTTP Basic, an LRS token or an external OIDC token: see lrs.auth.gate).

Missing or wrong credentials get 401 with `WWW-Authenticate` (and a JSON body, not
Starlette's plain-text default); too many failures get 429 with `Retry-After`; scope checks
(403) happen in the resources.
"""

from __future__ import annotations

from typing import Protocol

from starlette.responses import Response
from starlette.types import Scope

from lrs.auth.scopes import Credential
from lrs.errors import error_response
from lrs.http.middleware import UNVERSIONED, is_xapi_path, raw_header
from statements.errors import Unauthenticated, XAPIError

BEARER_CHALLENGE = 'Bearer realm="xAPI", error="invalid_token"'
ADMIN_CHALLENGE = 'Bearer realm="admin"'
"""Never a Basic challenge on /admin: a browser shown one asks for a login, then sends the
admin credential by itself with every later request there, cross-site form posts included.
Admin clients send their credential without waiting to be asked (curl -u, httpx, requests)."""


class Admitter(Protocol):
    async def admit(self, header: str | None, source: str | None) -> Credential: ...


def protected(scope: Scope) -> bool:
    """Whether the request needs a credential (checked by `lrs.http.admission`)."""
    path: str = scope["path"]
    if path.startswith(("/admin/", "/feeds/", "/analytics/")) or path == "/metrics":
        return True
    return is_xapi_path(path) and path not in UNVERSIONED and scope["method"] != "OPTIONS"


async def admit(gate: Admitter, scope: Scope) -> Credential:
    """The request's credential, or the XAPIError that is its answer (see `refusal`)."""
    return await gate.admit(raw_header(scope, b"authorization"), client_address(scope))


def refusal(error: XAPIError, path: str) -> Response:
    """The answer to a request the gate refused, with the challenge its client can act on."""
    response = error_response(error)
    if isinstance(error, Unauthenticated) and error.error == "invalid_token":
        response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    elif isinstance(error, Unauthenticated) and path.startswith("/admin/"):
        response.headers["WWW-Authenticate"] = ADMIN_CHALLENGE
    return response


def client_address(scope: Scope) -> str | None:
    """The peer's address (behind a proxy: as uvicorn's proxy-headers support rewrote it)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def credential_of(scope: Scope) -> Credential:
    credential = scope.get("credential")
    if not isinstance(credential, Credential):
        raise Unauthenticated("valid credentials are required (HTTP Basic or a Bearer token)")
    return credential
