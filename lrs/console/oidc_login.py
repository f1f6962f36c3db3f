"""Signing in to the console through the configured OpenID Connect provider.

The authorization code flow (OIDC Core 3.1) with PKCE (RFC 7636, `S256`), `state` and
`nonce`: **Sign in with your organisation** redirects to the provider's authorization
endpoint (from its discovery document); the provider sends the browser back to
`/console/oidc/callback` with a code, which the LRS exchanges at the token endpoint for an
ID token. The ID token is checked by `OIDCVerifier`, the verifier of the API's bearer tokens
(issuer, signature from the provider's JWKS, algorithm allow-list, expiry), with the
console's client id as its audience; then its `nonce` must be the one this browser was
given. Its scopes come through the same claim and map as the API's (`LRS_OIDC_SCOPE_*`).

The flow's `state`, `nonce` and PKCE verifier live in an HttpOnly cookie limited to
`/console/oidc` for ten minutes. It is `SameSite=Lax`, unlike the session cookie: the
provider's redirect back is a cross-site navigation, which a Strict cookie would not
survive; the callback's only effect is the session it opens for this very browser, and
only when `state` matches. Failures count toward the per-address brute-force limit and are
audited as `auth.failed` (scheme `console-oidc`). The session keeps the ID token's scope,
authority and name claims, mapped again on every request, and ends when the ID token
expires (see `lrs.console.callers`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from lrs.auth.backend import client_address
from lrs.auth.oidc import OIDCVerifier, _get_json, check_fetch_url
from lrs.auth.scopes import Credential
from lrs.console.callers import kept_claims
from lrs.console.guard import Console
from lrs.console.login import Login
from lrs.console.security import same_token
from lrs.services import Services
from lrs.settings import SettingsError
from statements.errors import NotFound, TooManyRequests

FLOW_COOKIE = "lrs_console_oidc"
FLOW_PATH = "/console/oidc"
FLOW_SECONDS = 600
CALLBACK = "/console/oidc/callback"
SCOPE = "openid profile"
MAX_PARAM = 2048
SCHEME = "console-oidc"


@dataclass(frozen=True, slots=True)
class Endpoints:
    authorization: str
    token: str


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 4.2): base64url(SHA-256(verifier)), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OIDCLogin:
    def __init__(self, console: Console, login: Login) -> None:
        self.console = console
        self.login = login
        self._endpoints: Endpoints | None = None
        self._verifier: OIDCVerifier | None = None

    @property
    def client_id(self) -> str | None:
        return self.console.gate.auth.oidc_client_id

    def _http(self) -> httpx.AsyncClient:
        http = self.console.gate.http
        if self.client_id is None or http is None:
            raise NotFound("sign-in through an OIDC provider is not configured")
        return http

    async def start(self, request: Request) -> Response:
        http = self._http()
        try:
            endpoints = await self._discover(http)
        except (httpx.HTTPError, ValueError, SettingsError) as error:
            return self.login.refused_form(request, f"The identity provider: {error}", 502)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self._redirect_uri(request),
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        joiner = "&" if "?" in endpoints.authorization else "?"
        response = RedirectResponse(endpoints.authorization + joiner + query, status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            f"{state}.{nonce}.{verifier}",
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            secure=self.console.secure(request),
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(self, request: Request) -> Response:
        http = self._http()
        source = client_address(request.scope)
        try:
            self.console.gate.limiter.check(None, source)
        except TooManyRequests as error:
            headers = {"Retry-After": str(error.retry_after)}
            return self.login.refused_form(request, error.message, 429, **headers)
        try:
            signed = await self._signed_in(request, http)
        except SignInRefused as refusal:
            self.console.gate.limiter.fail(None, source)
            await self.console.gate.failed(source, SCHEME, refusal.reason[:200])
            response = self.login.refused_form(request, f"Not signed in: {refusal.reason}", 401)
        else:
            credential, claims = signed
            identity = {"claims": kept_claims(claims, self.console.gate.auth)}
            expires = datetime.fromtimestamp(float(claims["exp"]), UTC)  # checked: a number
            response = await self.login.open_session(
                request, credential.key, source, identity, not_after=expires
            )
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")
        return response

    async def _signed_in(
        self, request: Request, http: httpx.AsyncClient
    ) -> tuple[Credential, dict[str, Any]]:
        """The caller the provider vouches for and the ID token's claims, or
        `SignInRefused` saying why not."""
        params = request.query_params
        state, _, rest = request.cookies.get(FLOW_COOKIE, "").partition(".")
        nonce, _, verifier = rest.partition(".")
        if not same_token(state, params.get("state")) or not verifier:
            raise SignInRefused("the sign-in did not start in this browser, or took too long")
        if params.get("error"):
            raise SignInRefused(f"the provider answered {params['error'][:100]!r}")
        code = params.get("code", "")
        if not code or len(code) > MAX_PARAM:
            raise SignInRefused("the provider sent no authorization code")
        try:
            token = await self._exchange(http, request, code, verifier)
            credential = await self._verifier_for(http).verify(token)
        except (httpx.HTTPError, ValueError, SettingsError, jwt.PyJWTError) as error:
            raise SignInRefused(f"the ID token was refused: {str(error)[:150]}") from None
        claims = jwt.decode(token, options={"verify_signature": False})  # verified just above
        if not same_token(nonce, claims.get("nonce")):
            raise SignInRefused("the ID token's nonce is not this sign-in's")
        if not credential.scopes:
            raise SignInRefused("the provider granted no scope the LRS knows")
        return credential, claims

    async def _exchange(
        self, http: httpx.AsyncClient, request: Request, code: str, verifier: str
    ) -> str:
        """The ID token for `code` (client_secret_basic when a secret is configured)."""
        endpoints = await self._discover(http)
        auth = self.console.gate.auth
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri(request),
            "client_id": str(self.client_id),
            "code_verifier": verifier,
        }
        secret = auth.oidc_client_secret
        # a public client authenticates by PKCE alone: httpx.Auth() adds nothing
        basic = httpx.BasicAuth(str(self.client_id), secret) if secret else httpx.Auth()
        answer = await http.post(
            endpoints.token, data=data, auth=basic, headers={"Accept": "application/json"}
        )
        answer.raise_for_status()
        token = answer.json().get("id_token")
        if not isinstance(token, str):
            raise ValueError("the token endpoint sent no id_token")
        return token

    async def _discover(self, http: httpx.AsyncClient) -> Endpoints:
        if self._endpoints is None:
            issuer = str(self.console.gate.auth.oidc_issuer)
            url = check_fetch_url(
                issuer.rstrip("/") + "/.well-known/openid-configuration", "OIDC discovery URL"
            )
            document = await _get_json(http, url)
            if not isinstance(document, dict) or document.get("issuer") != issuer:
                raise ValueError(f"{url}: its issuer is not {issuer!r}")
            found = [document.get(n) for n in ("authorization_endpoint", "token_endpoint")]
            if not all(isinstance(u, str) for u in found):
                raise ValueError(f"{url}: no authorization_endpoint or token_endpoint")
            self._endpoints = Endpoints(
                check_fetch_url(str(found[0]), "authorization_endpoint"),
                check_fetch_url(str(found[1]), "token_endpoint"),
            )
        return self._endpoints

    def _verifier_for(self, http: httpx.AsyncClient) -> OIDCVerifier:
        """The API's verifier, with the console's client id as the ID token's audience."""
        if self._verifier is None:
            auth = dataclasses.replace(self.console.gate.auth, oidc_audience=self.client_id)
            self._verifier = OIDCVerifier(auth, http)
        return self._verifier

    @staticmethod
    def _redirect_uri(request: Request) -> str:
        """Where the provider sends the browser back: under LRS_PUBLIC_URL when it is set
        (behind a proxy the request's own URL is not the one the browser sees)."""
        services: Services = request.state.services
        base = services.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
        return base.rstrip("/") + CALLBACK


class SignInRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
