"""LRS-issued bearer tokens (JWT, RFC 7519; profile after RFC 9068 "at+jwt").

A token carries the credential key (`sub`), a unique id (`jti`), its scopes (`scope`, space
separated, RFC 8693 §4.2) and a short life (`exp`). It is signed with HS256 (a shared secret)
or with a private key (RS256 / ES256 / ES384 / ES512 from the key's type), in which case the
public key is published as a JWKS (RFC 7517) so that other services can verify tokens too.

Verification pins the one configured algorithm: a token announcing any other (`none`, or
HS256 signed with our public key as the secret) fails before its signature is looked at.
Every claim the issuer writes is required, with its RFC 7519 type: `exp`, `nbf` and `iat`
are NumericDates (JSON numbers; PyJWT alone would read the string "1700000000" as one), and
`sub`, `jti` and `scope` strings. A token missing one is not ours: 401, never a 403 for an
empty scope.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from lrs.auth.config import AuthSettings
from lrs.settings import SettingsError

ACCESS_JWT_TYP = "at+jwt"
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope"]
NUMERIC_DATES = ("exp", "nbf", "iat")
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class SigningKey:
    algorithm: str
    signing: Any
    """The HS256 secret (bytes) or the private key object."""
    verifying: Any
    kid: str
    public_jwk: dict[str, Any] | None
    """The public key as a JWK, when asymmetric (None for HS256: a secret is never published)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    scopes: frozenset[str]
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    key: str
    jti: str
    scopes: frozenset[str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, sorted, no whitespace."""
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = orjson.dumps({name: jwk[name] for name in required}, option=orjson.OPT_SORT_KEYS)
    return _b64url(hashlib.sha256(canonical).digest())


def _asymmetric(pem: bytes, source: str) -> SigningKey:
    try:
        private = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SettingsError(f"{source}: not an unencrypted PEM private key ({error})") from None
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < MIN_RSA_BITS:
            raise SettingsError(f"{source}: RSA keys need at least {MIN_RSA_BITS} bits")
        algorithm, jwk = "RS256", RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name in EC_ALGORITHMS:
        algorithm = EC_ALGORITHMS[private.curve.name]
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise SettingsError(f"{source}: use an RSA or an EC (P-256/384/521) private key")
    kid = thumbprint(jwk)
    public_jwk = {**jwk, "kid": kid, "use": "sig", "alg": algorithm}
    return SigningKey(algorithm, private, private.public_key(), kid, public_jwk)


def load_signing_key(auth: AuthSettings) -> SigningKey | None:
    """The configured key, or None when LRS tokens are off (neither secret nor key file)."""
    if auth.token_secret is not None:
        secret = auth.token_secret.encode()
        kid = _b64url(hashlib.sha256(b"kid:" + secret).digest()[:12])
        return SigningKey("HS256", secret, secret, kid, None)
    if auth.token_private_key_file is not None:
        path = auth.token_private_key_file
        try:
            pem = path.read_bytes()
        except OSError as error:
            raise SettingsError(
                f"LRS_TOKEN_PRIVATE_KEY_FILE: cannot read {path}: {error}"
            ) from None
        return _asymmetric(pem, f"LRS_TOKEN_PRIVATE_KEY_FILE {path}")
    return None


def check_numeric_dates(claims: dict[str, Any]) -> None:
    """`exp`, `nbf` and `iat`, where present, are JSON numbers (RFC 7519 2: NumericDate).

    PyJWT converts them with `int()`, so `"exp": "9999999999"` would pass its checks;
    a token that types its dates as strings was not made by a conforming issuer.
    """
    for name in NUMERIC_DATES:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise jwt.InvalidTokenError(f"the {name} claim must be a NumericDate (a number)")


class TokenIssuer:
    """Mints and verifies the LRS's own tokens. `clock` (seconds since the epoch) is a
    parameter so tests can mint a token that is already expired."""

    def __init__(
        self,
        key: SigningKey,
        *,
        issuer: str,
        lifetime: int,
        leeway: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.issuer = issuer
        self.lifetime = lifetime
        self.leeway = leeway
        self.clock = clock

    def issue(self, credential_key: str, scopes: Iterable[str]) -> IssuedToken:
        now = int(self.clock())
        jti = secrets.token_urlsafe(16)
        granted = frozenset(scopes)
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": credential_key,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "jti": jti,
            "scope": " ".join(sorted(granted)),
        }
        headers = {"kid": self.key.kid, "typ": ACCESS_JWT_TYP}
        token = jwt.encode(claims, self.key.signing, algorithm=self.key.algorithm, headers=headers)
        return IssuedToken(token, jti, granted, self.lifetime)

    def verify(self, token: str) -> TokenClaims:
        """The token's claims; raises `jwt.InvalidTokenError` for anything not ours or stale."""
        claims = jwt.decode(
            token,
            self.key.verifying,
            algorithms=[self.key.algorithm],
            issuer=self.issuer,
            audience=self.issuer,
            leeway=self.leeway,
            options={"require": REQUIRED_CLAIMS},
        )
        check_numeric_dates(claims)
        for name in ("sub", "jti", "scope"):
            if not isinstance(claims[name], str):
                raise jwt.InvalidTokenError(f"the {name} claim must be a string")
        return TokenClaims(claims["sub"], claims["jti"], frozenset(claims["scope"].split()))

    def jwks(self) -> dict[str, Any] | None:
        return None if self.key.public_jwk is None else {"keys": [self.key.public_jwk]}
