"""The OAuth 2.0 token endpoint (client credentials grant, RFC 6749 §4.4) and the JWKS.

`POST /oauth/token`: the client authenticates with HTTP Basic (its key and secret,
form-urlencoded first as RFC 6749 §2.3.1 says) or with `client_id` / `client_secret` form
fields, never both; `grant_type=client_credentials`; an optional `scope` narrows the token to
some of the credential's scopes. Errors have the RFC 6749 §5.2 body (`error`,
`error_description`) plus our `message` and `details`, so both kinds of client read them.
Failed client authentications count towards the same brute-force limits as Basic.

`GET /.well-known/jwks.json`: the public signing key, when tokens are signed with one.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.auth.backend import client_address
from lrs.auth.basic import parse_basic
from lrs.auth.gate import AuthGate
from lrs.auth.jwt import TokenIssuer
from lrs.auth.scopes import Credential, narrow, unknown_scopes
from lrs.openapi.operations import PUBLIC, Body, Reply, operation
from lrs.openapi.schemas import ANY_OBJECT, ERROR, INTEGER, STRING, array, obj
from lrs.resources.bodies import media_type, read_body
from lrs.responses import XAPIResponse
from statements.errors import NotFound, Unauthenticated

ISSUED = "token.issued"
MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"

OAUTH_ERROR = {
    **ERROR,
    "required": [*ERROR["required"], "error_description"],
    "properties": {**ERROR["properties"], "error_description": STRING},
}
"""RFC 6749 §5.2 (`error`, `error_description`) plus our `message` and `details`."""
TOKEN_FORM = obj(
    (),
    grant_type={"enum": ["client_credentials"]},
    client_id=STRING,
    client_secret=STRING,
    scope=STRING,
)
TOKEN = obj(
    ("access_token", "token_type", "expires_in", "scope"),
    access_token=STRING,
    token_type={"const": "Bearer"},
    expires_in=INTEGER,
    scope=STRING,
)
CLIENT_AUTHENTICATION = (
    "The client authenticates with HTTP Basic (key and secret) or with the `client_id` and "
    "`client_secret` fields, never both. 404 when the LRS issues no tokens (neither "
    "LRS_TOKEN_SECRET nor LRS_TOKEN_PRIVATE_KEY_FILE is set)."
)


class OAuthError(Exception):
    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.description, self.status = code, description, status

    def response(self) -> Response:
        body = {
            "error": self.code,
            "error_description": self.description,
            "message": self.description,
            "details": None,
        }
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="oauth"'
        return XAPIResponse(body, status_code=self.status, headers=headers)


def _invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


async def read_form(request: Request) -> dict[str, str]:
    """The form fields; blank ones count as absent and repeated ones are refused (§3.1)."""
    if media_type(request) != FORM:
        raise OAuthError("invalid_request", f"the body must be {FORM}")
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form is malformed") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"{name} is given more than once")
        if value:
            form[name] = value
    return form


def client_pair(header: str | None, form: dict[str, str]) -> tuple[str, str]:
    """(key, secret) from exactly one client authentication method (RFC 6749 §2.3)."""
    if header:
        if "client_secret" in form:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        pair = parse_basic(header)
        if pair is None:
            raise _invalid_client("the Authorization header is not HTTP Basic")
        key, secret = unquote_plus(pair[0]), unquote_plus(pair[1])
        if form.get("client_id", key) != key:
            raise OAuthError("invalid_request", "client_id does not match the Basic credentials")
        return key, secret
    if "client_id" not in form or "client_secret" not in form:
        raise _invalid_client("client authentication is required (Basic or client_secret)")
    return form["client_id"], form["client_secret"]


def granted_scopes(credential: Credential, requested: str | None) -> frozenset[str]:
    if requested is None:
        return credential.scopes
    wanted = requested.split()
    unknown = unknown_scopes(wanted)
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope(s): {unknown}")
    granted = narrow(credential.scopes, wanted)
    if granted is None:
        raise OAuthError("invalid_scope", "the scope asks for more than the credential holds")
    return granted


class OAuthEndpoints:
    def __init__(self, gate: AuthGate) -> None:
        self.gate = gate

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    def _issuer(self) -> TokenIssuer:
        if self.gate.issuer is None:
            raise NotFound(
                "the token endpoint is off: set LRS_TOKEN_SECRET or LRS_TOKEN_PRIVATE_KEY_FILE"
            )
        return self.gate.issuer

    @operation(
        "POST",
        "An access token (OAuth 2.0 client credentials grant, RFC 6749 §4.4)",
        tag="oauth",
        access=PUBLIC,
        description=CLIENT_AUTHENTICATION,
        body=Body(
            TOKEN_FORM,
            {"grant_type": "client_credentials", "scope": "statements/read"},
            media_types=(FORM,),
        ),
        ok=(
            Reply(
                200,
                "The token",
                TOKEN,
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "statements/read",
                },
                headers={"Cache-Control": "no-store"},
            ),
            Reply(400, "invalid_request, unsupported_grant_type or invalid_scope", OAUTH_ERROR),
            Reply(401, "invalid_client", OAUTH_ERROR),
        ),
        errors=(404,),
    )
    async def token(self, request: Request) -> Response:
        issuer = self._issuer()
        source = client_address(request.scope)
        try:
            form = await read_form(request)
            key, secret = client_pair(request.headers.get("authorization"), form)
            try:
                credential = await self.gate.client(key, secret, source, via="token_endpoint")
            except Unauthenticated:
                raise _invalid_client("wrong client credentials") from None
            grant = form.get("grant_type")
            if grant is None:
                raise OAuthError("invalid_request", "grant_type is required")
            if grant != "client_credentials":
                raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
            scopes = granted_scopes(credential, form.get("scope"))
        except OAuthError as error:
            return error.response()
        issued = issuer.issue(credential.key, scopes)
        await self.gate.audit.record(
            actor=credential.key,
            action=ISSUED,
            target=credential.key,
            source=source,
            details={"jti": issued.jti, "scopes": sorted(scopes), "expires_in": issued.expires_in},
        )
        body = {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": " ".join(sorted(scopes)),
        }
        return XAPIResponse(body, headers=NO_STORE)

    @operation(
        "GET",
        "The public key tokens are signed with (RFC 7517)",
        tag="oauth",
        access=PUBLIC,
        ok=Reply(200, "The JWK Set", obj(("keys",), keys=array(ANY_OBJECT))),
        errors=(404,),
        description="404 when tokens are not signed with a public key (HS256 or none).",
    )
    async def jwks(self, request: Request) -> Response:
        keys = None if self.gate.issuer is None else self.gate.issuer.jwks()
        if keys is None:
            raise NotFound("no JWKS: this LRS signs no tokens with a public key")
        return XAPIResponse(keys, headers={"Cache-Control": "public, max-age=300"})
