"""Authentication settings beyond Basic, read once from `LRS_TOKEN_*`, `LRS_OIDC_*` and
`LRS_AUTH_*` variables (or built directly in tests), validated at start-up.

Kept apart from `lrs.settings.Settings` the way `forwarders.config` is: the app factory takes
them as one argument, so the auth feature adds no field to the shared settings object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from lrs.auth.scopes import KNOWN_SCOPES
from lrs.settings import SettingsError, env_number

MIN_HS256_SECRET = 32
"""RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes)."""
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_LEEWAY = 300.0


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    return env_number(environ, name, default, minimum, integer=False)


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    return int(env_number(environ, name, default, minimum, integer=True))


def _words(raw: str) -> tuple[str, ...]:
    return tuple(word for word in raw.replace(",", " ").split() if word)


def parse_scope_map(raw: str) -> Mapping[str, tuple[str, ...]]:
    """`{"external": "xapi scope" | ["xapi", ...]}` from JSON; every target a known scope."""
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SettingsError(f"LRS_OIDC_SCOPE_MAP is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise SettingsError("LRS_OIDC_SCOPE_MAP must be a JSON object")
    mapping: dict[str, tuple[str, ...]] = {}
    for external, targets in value.items():
        targets = [targets] if isinstance(targets, str) else targets
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise SettingsError(f"LRS_OIDC_SCOPE_MAP[{external!r}] must be a string or a list")
        unknown = sorted(set(targets) - KNOWN_SCOPES)
        if unknown:
            raise SettingsError(f"LRS_OIDC_SCOPE_MAP[{external!r}]: unknown scope(s) {unknown}")
        mapping[external] = tuple(targets)
    return MappingProxyType(mapping)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    token_secret: str | None = field(default=None, repr=False)
    """HS256 signing secret for LRS-issued tokens (at least 32 characters)."""
    token_private_key_file: Path | None = None
    """PEM private key (RSA >= 2048 bits or EC P-256/384/521) for RS256/ES256 tokens."""
    token_lifetime_seconds: int = 300
    token_issuer: str | None = None
    """`iss` and `aud` of LRS tokens; defaults to LRS_PUBLIC_URL."""
    jwt_leeway_seconds: float = 30.0
    """Clock skew tolerated on exp/nbf/iat, for LRS and external tokens alike."""
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    """Where the IdP's keys are; None: discovered from <issuer>/.well-known/openid-configuration."""
    oidc_algorithms: tuple[str, ...] = ("RS256",)
    oidc_scope_claim: str = "scope"
    oidc_scope_map: Mapping[str, tuple[str, ...]] | None = None
    """External scope -> xAPI scopes. None: xAPI scope names pass through (never `admin`)."""
    oidc_authority_claim: str = "sub"
    oidc_authority_home: str | None = None
    """`authority.account.homePage` of external callers; defaults to the issuer."""
    oidc_name_claim: str = "name"
    oidc_jwks_cache_seconds: float = 3600.0
    oidc_jwks_min_refetch_seconds: float = 60.0
    oidc_client_id: str | None = None
    """The console's client at the provider: set, the sign-in page offers the provider
    (authorization code flow with PKCE); its ID tokens' audience."""
    oidc_client_secret: str | None = field(default=None, repr=False)
    """For a confidential client (sent as HTTP Basic to the token endpoint); None: public."""
    failure_window_seconds: float = 300.0
    failures_per_key: int = 10
    failures_per_address: int = 50

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AuthSettings:
        d = cls()
        key_file = environ.get("LRS_TOKEN_PRIVATE_KEY_FILE") or None
        scope_map = environ.get("LRS_OIDC_SCOPE_MAP", "").strip()
        return cls(
            token_secret=environ.get("LRS_TOKEN_SECRET") or None,
            token_private_key_file=Path(key_file) if key_file else None,
            token_lifetime_seconds=_int(
                environ, "LRS_TOKEN_LIFETIME_SECONDS", d.token_lifetime_seconds, 1
            ),
            token_issuer=environ.get("LRS_TOKEN_ISSUER") or None,
            jwt_leeway_seconds=_float(environ, "LRS_JWT_LEEWAY_SECONDS", d.jwt_leeway_seconds, 0),
            oidc_issuer=environ.get("LRS_OIDC_ISSUER") or None,
            oidc_audience=environ.get("LRS_OIDC_AUDIENCE") or None,
            oidc_jwks_url=environ.get("LRS_OIDC_JWKS_URL") or None,
            oidc_algorithms=_words(environ.get("LRS_OIDC_ALGORITHMS", "")) or d.oidc_algorithms,
            oidc_scope_claim=environ.get("LRS_OIDC_SCOPE_CLAIM") or d.oidc_scope_claim,
            oidc_scope_map=parse_scope_map(scope_map) if scope_map else None,
            oidc_authority_claim=environ.get("LRS_OIDC_AUTHORITY_CLAIM") or d.oidc_authority_claim,
            oidc_authority_home=environ.get("LRS_OIDC_AUTHORITY_HOMEPAGE") or None,
            oidc_name_claim=environ.get("LRS_OIDC_NAME_CLAIM") or d.oidc_name_claim,
            oidc_jwks_cache_seconds=_float(
                environ, "LRS_OIDC_JWKS_CACHE_SECONDS", d.oidc_jwks_cache_seconds, 1
            ),
            oidc_jwks_min_refetch_seconds=_float(
                environ, "LRS_OIDC_JWKS_MIN_REFETCH_SECONDS", d.oidc_jwks_min_refetch_seconds, 0
            ),
            failure_window_seconds=_float(
                environ, "LRS_AUTH_FAILURE_WINDOW_SECONDS", d.failure_window_seconds, 1
            ),
            oidc_client_id=environ.get("LRS_OIDC_CLIENT_ID") or None,
            oidc_client_secret=environ.get("LRS_OIDC_CLIENT_SECRET") or None,
            failures_per_key=_int(environ, "LRS_AUTH_FAILURES_PER_KEY", d.failures_per_key, 1),
            failures_per_address=_int(
                environ, "LRS_AUTH_FAILURES_PER_ADDRESS", d.failures_per_address, 1
            ),
        ).validated()

    def validated(self) -> AuthSettings:
        if self.token_secret is not None and self.token_private_key_file is not None:
            raise SettingsError("set LRS_TOKEN_SECRET or LRS_TOKEN_PRIVATE_KEY_FILE, not both")
        if self.token_secret is not None and len(self.token_secret) < MIN_HS256_SECRET:
            raise SettingsError(f"LRS_TOKEN_SECRET must be at least {MIN_HS256_SECRET} characters")
        if self.jwt_leeway_seconds > MAX_LEEWAY:
            raise SettingsError(f"LRS_JWT_LEEWAY_SECONDS must be <= {MAX_LEEWAY:.0f}")
        if self.token_lifetime_seconds > 86_400:
            raise SettingsError("LRS_TOKEN_LIFETIME_SECONDS must be <= 86400 (one day)")
        bad = sorted(set(self.oidc_algorithms) - ASYMMETRIC_ALGORITHMS)
        if bad:
            raise SettingsError(
                f"LRS_OIDC_ALGORITHMS: {bad} not allowed (asymmetric only: "
                f"{sorted(ASYMMETRIC_ALGORITHMS)}; never none or HS*)"
            )
        if (self.oidc_issuer is None) != (self.oidc_audience is None):
            raise SettingsError("LRS_OIDC_ISSUER and LRS_OIDC_AUDIENCE must be set together")
        if self.oidc_client_id is not None and self.oidc_issuer is None:
            raise SettingsError("LRS_OIDC_CLIENT_ID needs LRS_OIDC_ISSUER and LRS_OIDC_AUDIENCE")
        return self

    @property
    def tokens_enabled(self) -> bool:
        return self.token_secret is not None or self.token_private_key_file is not None
