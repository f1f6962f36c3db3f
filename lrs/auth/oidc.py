"""Bearer tokens of an external OpenID Connect provider (OIDC Core 1.0, RFC 7519, RFC 7517).

The provider's signing keys come from its JWKS (the configured URL, or `jwks_uri` of its
discovery document, OIDC Discovery §4), fetched with httpx and cached: refetched when the
cache is older than its lifetime, or when a token names a key id we do not know (the
provider rotated), but never more often than the refetch floor, so a stream of tokens with
invented key ids cannot make us hammer the provider.

Verification pins what may be trusted: the issuer, the audience, an allow-list of
asymmetric algorithms (never `none`, never HS*: a public key must not become an HMAC
secret), a key whose type matches the algorithm, a bounded clock skew, and `exp` (required),
`nbf` and `iat` (when present) typed as NumericDates. Scopes are the provider's business: a
valid token without usable scopes authenticates and gets 403.

Who the caller is: `authority` is an Agent whose account is (homePage = the configured
home, by default the issuer; name = the configured claim, by default `sub`). Which scopes:
the configured claim (`scope`, a space-separated string, or a list as in `scp`), each value
mapped to xAPI scopes through the configured map.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import orjson

from lrs.auth.config import AuthSettings
from lrs.auth.jwt import check_numeric_dates
from lrs.auth.scopes import XAPI_SCOPES, Credential
from lrs.settings import SettingsError

log = logging.getLogger("lrs.auth.oidc")

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_SUBJECT = 256
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
"""Algorithm prefix -> the JWK key type it needs."""


def check_fetch_url(url: str, what: str) -> str:
    """https, or plain http only to a loopback address (tests, a sidecar IdP)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise SettingsError(f"{what} must be an https URL (http only for loopback), got {url!r}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _get_json(http: httpx.AsyncClient, url: str) -> Any:
    """GET a JSON document, bounded in size; raises httpx.HTTPError or ValueError."""
    async with http.stream("GET", url, headers={"Accept": "application/json"}) as response:
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"{url}: document over {MAX_DOCUMENT_BYTES} bytes")
    return orjson.loads(body)


def _signing_keys(document: Any) -> dict[str | None, jwt.PyJWK]:
    """kid -> key, for the asymmetric signing keys of a JWKS (others are skipped)."""
    keys: dict[str | None, jwt.PyJWK] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") not in KEY_TYPES.values():
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry.get("kid")] = jwt.PyJWK(entry)
        except jwt.PyJWTError as error:
            log.warning("skipping an unusable JWKS key %r: %s", entry.get("kid"), error)
    return keys


class JWKSCache:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        issuer: str,
        jwks_url: str | None,
        ttl: float,
        min_refetch: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.issuer = issuer
        self.jwks_url = None if jwks_url is None else check_fetch_url(jwks_url, "JWKS URL")
        self.ttl = ttl
        self.min_refetch = min_refetch
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        if self._should_fetch(kid):
            async with self._lock:
                if self._should_fetch(kid):
                    await self._refresh()
        found = self._lookup(kid)
        if found is None:
            raise jwt.InvalidTokenError(f"no signing key {kid!r} at the identity provider")
        return found

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _should_fetch(self, kid: str | None) -> bool:
        now = self.clock()
        if self._attempted_at is not None and now - self._attempted_at < self.min_refetch:
            return False  # the floor: whatever happened, not again so soon
        stale = self._fetched_at is None or now - self._fetched_at >= self.ttl
        return stale or self._lookup(kid) is None

    async def _refresh(self) -> None:
        self._attempted_at = self.clock()
        self.fetches += 1
        try:
            url = self.jwks_url or await self._discover()
            keys = _signing_keys(await _get_json(self.http, url))
        except (httpx.HTTPError, ValueError, SettingsError) as error:
            log.warning("cannot fetch the identity provider's keys: %s", error)
            return  # keep the keys we had: a provider hiccup must not log everyone out
        self.jwks_url = url
        self._keys = keys
        self._fetched_at = self._attempted_at

    async def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await _get_json(self.http, check_fetch_url(url, "OIDC discovery URL"))
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise ValueError(f"{url}: its issuer is not {self.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError(f"{url}: no jwks_uri")
        return check_fetch_url(jwks_uri, "jwks_uri")


def map_scopes(value: Any, mapping: Mapping[str, tuple[str, ...]] | None) -> frozenset[str]:
    """xAPI scopes from a scope claim (space-separated string or list of strings)."""
    if isinstance(value, str):
        given = value.split()
    elif isinstance(value, list):
        given = [item for item in value if isinstance(item, str)]
    else:
        return frozenset()
    if mapping is None:
        return frozenset(item for item in given if item in XAPI_SCOPES)
    return frozenset(scope for item in given for scope in mapping.get(item, ()))


class OIDCVerifier:
    def __init__(
        self,
        auth: AuthSettings,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if auth.oidc_issuer is None or auth.oidc_audience is None:
            raise SettingsError("OIDC needs LRS_OIDC_ISSUER and LRS_OIDC_AUDIENCE")
        self.auth = auth
        self.issuer = auth.oidc_issuer
        self.audience = auth.oidc_audience
        self.keys = JWKSCache(
            http,
            issuer=self.issuer,
            jwks_url=auth.oidc_jwks_url,
            ttl=auth.oidc_jwks_cache_seconds,
            min_refetch=auth.oidc_jwks_min_refetch_seconds,
            clock=clock,
        )

    async def verify(self, token: str) -> Credential:
        """The caller of a valid token; raises `jwt.PyJWTError` for anything else."""
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.auth.oidc_algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not allowed")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        if KEY_TYPES.get(str(algorithm)[:2]) != key.key_type:
            raise jwt.InvalidKeyError(f"key {kid!r} ({key.key_type}) cannot verify {algorithm}")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[str(algorithm)],
            issuer=self.issuer,
            audience=self.audience,
            leeway=self.auth.jwt_leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
        check_numeric_dates(claims)
        return self.credential(claims)

    def credential(self, claims: dict[str, Any]) -> Credential:
        subject = claims.get(self.auth.oidc_authority_claim)
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
            raise jwt.MissingRequiredClaimError(self.auth.oidc_authority_claim)
        display = claims.get(self.auth.oidc_name_claim)
        name = display if isinstance(display, str) and 0 < len(display) <= MAX_SUBJECT else subject
        home = self.auth.oidc_authority_home or self.issuer
        return Credential(
            key=f"oidc:{subject}",
            scopes=map_scopes(claims.get(self.auth.oidc_scope_claim), self.auth.oidc_scope_map),
            authority={
                "objectType": "Agent",
                "name": name,
                "account": {"homePage": home, "name": subject},
            },
            name=name,
        )
