"""The door every protected request passes: Basic credentials, LRS tokens, external tokens.

`AuthGate.admit(header, source)` answers the Credential of the caller or raises:
Unauthenticated (401) for missing or wrong credentials, TooManyRequests (429) when the key or
the client address has failed too often lately (see lrs.auth.limiter). Every failure is
audited (`auth.failed`: the key or the token's issuer, never a secret or a token).

Built by the app factory before the database is open (middleware is assembled first);
`attach` hands it the credential store and the audit log once the lifespan has them.
"""

from __future__ import annotations

import dataclasses
import logging

import httpx
import jwt

from lrs.audit import AuditLog
from lrs.auth.basic import parse_basic
from lrs.auth.config import AuthSettings
from lrs.auth.credential_store import MongoCredentialStore
from lrs.auth.jwt import TokenIssuer, load_signing_key
from lrs.auth.limiter import FailureLimiter
from lrs.auth.oidc import OIDCVerifier
from lrs.auth.scopes import Credential, implied
from lrs.settings import Settings
from statements.errors import Unauthenticated

log = logging.getLogger("lrs.auth")

FAILED = "auth.failed"
MAX_TOKEN = 16 * 1024
MAX_AUDITED_KEY = 128
REQUIRED = "valid credentials are required (HTTP Basic or a Bearer token)"


class InvalidToken(Unauthenticated):
    """A bearer token we cannot accept (401 with a Bearer challenge, RFC 6750 §3.1)."""

    error = "invalid_token"


class AuthGate:
    def __init__(
        self, auth: AuthSettings, settings: Settings, http: httpx.AsyncClient | None = None
    ) -> None:
        self.auth = auth
        self.limiter = FailureLimiter(
            per_key=auth.failures_per_key,
            per_address=auth.failures_per_address,
            window=auth.failure_window_seconds,
        )
        key = load_signing_key(auth)
        home = settings.public_url or f"http://{settings.host}:{settings.port}"
        self.issuer = None
        if key is not None:
            self.issuer = TokenIssuer(
                key,
                issuer=auth.token_issuer or home,
                lifetime=auth.token_lifetime_seconds,
                leeway=auth.jwt_leeway_seconds,
            )
        self._owns_http = http is None and auth.oidc_issuer is not None
        self.http = http
        if self._owns_http:
            self.http = httpx.AsyncClient(
                timeout=httpx.Timeout(5.0), trust_env=False, follow_redirects=False
            )
        self.oidc = None if self.http is None else OIDCVerifier(auth, self.http)
        self._credentials: MongoCredentialStore | None = None
        self._audit: AuditLog | None = None

    def attach(self, credentials: MongoCredentialStore, audit: AuditLog) -> None:
        self._credentials = credentials
        self._audit = audit

    async def aclose(self) -> None:
        if self._owns_http and self.http is not None:
            await self.http.aclose()

    @property
    def credentials(self) -> MongoCredentialStore:
        assert self._credentials is not None  # noqa: S101 - attached by the lifespan
        return self._credentials

    @property
    def audit(self) -> AuditLog:
        assert self._audit is not None  # noqa: S101 - attached by the lifespan
        return self._audit

    async def admit(self, header: str | None, source: str | None) -> Credential:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() == "bearer":
            return await self.bearer(value.strip(), source)
        pair = parse_basic(header)
        if pair is None:
            raise Unauthenticated(REQUIRED)
        return await self.client(*pair, source, via="basic")

    async def client(self, key: str, secret: str, source: str | None, *, via: str) -> Credential:
        """Check a key/secret pair, within the failure limits (Basic and the token endpoint)."""
        self.limiter.check(key, source)
        credential = await self.credentials.authenticate(key, secret)
        if credential is None:
            self.limiter.fail(key, source)
            await self.failed(source, via, "wrong key or secret", key=key)
            raise Unauthenticated(REQUIRED)
        self.limiter.succeed(key)
        return credential

    async def bearer(self, token: str, source: str | None) -> Credential:
        self.limiter.check(None, source)
        try:
            return await self._verify(token)
        except (jwt.PyJWTError, InvalidToken) as error:
            self.limiter.fail(None, source)
            await self.failed(source, "bearer", str(error)[:200])
            raise InvalidToken(f"the bearer token is not valid: {str(error)[:200]}") from None

    async def _verify(self, token: str) -> Credential:
        if not token or len(token) > MAX_TOKEN:
            raise InvalidToken("empty or oversized token")
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        if self.issuer is not None and issuer == self.issuer.issuer:
            claims = self.issuer.verify(token)
            credential = await self.credentials.active(claims.key)
            if credential is None:
                raise InvalidToken("the token's credential is revoked")
            scopes = claims.scopes & implied(credential.scopes)
            return dataclasses.replace(credential, scopes=scopes)
        if self.oidc is not None and issuer == self.oidc.issuer:
            return await self.oidc.verify(token)
        raise InvalidToken("the token's issuer is not trusted here")

    async def failed(
        self, source: str | None, via: str, reason: str, key: str | None = None
    ) -> None:
        await self.audit.record(
            actor="anonymous",
            action=FAILED,
            target=None if key is None else key[:MAX_AUDITED_KEY],
            source=source,
            outcome="denied",
            details={"scheme": via, "reason": reason},
        )
