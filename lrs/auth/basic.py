"""HTTP Basic credentials: parsing the header and hashing secrets.

Secrets are stored as scrypt hashes (a deliberately slow KDF, stdlib `hashlib.scrypt`).
Because scrypt costs tens of milliseconds, a verified secret is remembered per process as a
keyed BLAKE2 digest (never the secret itself) for a short time, so auth stays fast.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Generic, TypeVar

T = TypeVar("T")

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(key, secret) from an `Authorization: Basic ...` header, None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    if not sep or not key:
        return None
    return key, secret


def hash_secret(secret: str, *, salt: bytes | None = None, n: int = SCRYPT_N) -> str:
    """The stored form of a secret; `n` (scrypt's cost, a power of two) is recorded in it, so
    a check always uses the cost the hash was made with."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(digest, expected)


def dummy_hash(n: int = SCRYPT_N) -> str:
    """A fixed hash of cost `n` to verify against when the key does not exist, so that timing
    does not tell an attacker whether a key exists."""
    return hash_secret("not-a-real-secret", salt=b"\x00" * 16, n=n)


DUMMY_HASH = dummy_hash()


def new_key() -> str:
    return secrets.token_hex(10)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class VerifiedCache(Generic[T]):
    """Remembers recently verified (key, secret) pairs as keyed digests, for `ttl` seconds.

    The value (the credential) is cached with it, so a hot client costs no database round
    trip; a revocation is seen by other processes within `ttl` (and at once in this one).
    """

    def __init__(self, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._pepper = secrets.token_bytes(32)
        self._entries: dict[str, tuple[bytes, float, T]] = {}

    def digest(self, key: str, secret: str) -> bytes:
        """The pair's keyed digest: what the cache keeps instead of the secret."""
        return hashlib.blake2b(f"{key}:{secret}".encode(), key=self._pepper).digest()

    def get(self, key: str, secret: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[2] if hmac.compare_digest(entry[0], self.digest(key, secret)) else None

    def remember(self, key: str, secret: str, value: T) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (self.digest(key, secret), time.monotonic() + self.ttl, value)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
