"""Credentials in MongoDB: key/secret pairs with scrypt-hashed secrets and xAPI scopes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lrs.auth.basic import (
    DUMMY_HASH,
    SCRYPT_N,
    VerifiedCache,
    dummy_hash,
    hash_secret,
    new_key,
    new_secret,
    verify_secret,
)
from lrs.auth.scopes import Credential, unknown_scopes

ACTIVE_TTL = 5.0
"""How long a token's credential is remembered as active (seconds): a revocation reaches
other processes' token checks within this time, and this process's at once."""


class CredentialExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """A credential as the admin listing shows it: never its secret or its hash."""

    key: str
    name: str
    scopes: tuple[str, ...]
    created: str
    revoked: bool


class MongoCredentialStore:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        authority_home: str,
        verify: Callable[[str, str], bool] = verify_secret,
        hash_cost: int = SCRYPT_N,
    ) -> None:
        self.collection = db["credentials"]
        self.hash_cost = hash_cost
        self.dummy_hash = DUMMY_HASH if hash_cost == SCRYPT_N else dummy_hash(hash_cost)
        """Checked for unknown keys: it has the cost of a real hash, so timing tells nothing."""
        self.authority_home = authority_home
        self.cache: VerifiedCache[Credential] = VerifiedCache()
        self.verify = verify
        """The hash check, a parameter so a test can observe that unknown keys pay it too."""
        self._active: dict[str, tuple[float, Credential | None]] = {}
        self._checking: dict[bytes, asyncio.Future[Credential | None]] = {}
        """Checks in flight, by the pair's digest: concurrent requests with one pair share one."""

    def authority_for(self, key: str, name: str) -> dict[str, Any]:
        """The Agent that `authority` is set to for statements written with this credential."""
        return {
            "objectType": "Agent",
            "name": name or key,
            "account": {"homePage": self.authority_home, "name": key},
        }

    async def create(
        self, name: str, scopes: Sequence[str], *, key: str | None = None, secret: str | None = None
    ) -> tuple[str, str]:
        bad = unknown_scopes(scopes)
        if bad:
            raise ValueError(f"unknown scope(s): {bad}")
        key, secret = key or new_key(), secret or new_secret()
        hashed = await asyncio.to_thread(hash_secret, secret, n=self.hash_cost)
        doc = {
            "_id": key,
            "name": name,
            "scopes": list(dict.fromkeys(scopes)),
            "secret_hash": hashed,
            "created": datetime.now(UTC).isoformat(),
            "revoked": False,
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise CredentialExists(f"credential {key!r} already exists") from None
        return key, secret

    async def authenticate(self, key: str, secret: str) -> Credential | None:
        """The credential of a key/secret pair, or None.

        Concurrent requests with the same pair wait for one check: when the cached answer
        expires under load, every connection of a busy client misses at once, and a scrypt
        each (tens of milliseconds of CPU) stalled all of them together."""
        cached = self.cache.get(key, secret)
        if cached is not None:
            return cached
        digest = self.cache.digest(key, secret)
        check = self._checking.get(digest)
        if check is None:
            check = asyncio.ensure_future(self._check(key, secret))
            self._checking[digest] = check
            check.add_done_callback(lambda _: self._checking.pop(digest, None))
        return await asyncio.shield(check)

    async def _check(self, key: str, secret: str) -> Credential | None:
        doc = await self.collection.find_one({"_id": key})
        if doc is None or doc.get("revoked"):
            # the same scrypt as a real check, so the answer's timing does not tell whether
            # the key exists
            self.cache.forget(key)
            await asyncio.to_thread(self.verify, secret, self.dummy_hash)
            return None
        if not await asyncio.to_thread(self.verify, secret, str(doc["secret_hash"])):
            return None
        credential = self._credential(doc)
        self.cache.remember(key, secret, credential)
        return credential

    def _credential(self, doc: dict[str, Any]) -> Credential:
        key, name = str(doc["_id"]), str(doc.get("name", ""))
        return Credential(
            key=key,
            scopes=frozenset(doc.get("scopes", ())),
            authority=self.authority_for(key, name),
            name=name,
        )

    async def active(self, key: str) -> Credential | None:
        """The credential when it exists and is not revoked (for bearer tokens, which carry
        its key). Remembered for ACTIVE_TTL seconds, so a busy token costs no round trip."""
        now = time.monotonic()
        cached = self._active.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        doc = await self.collection.find_one({"_id": key, "revoked": False}, {"secret_hash": 0})
        credential = None if doc is None else self._credential(doc)
        if len(self._active) >= 10_000:
            self._active.clear()
        self._active[key] = (now + ACTIVE_TTL, credential)
        return credential

    async def list(self) -> list[CredentialRecord]:
        records = []
        async for doc in self.collection.find({}, {"secret_hash": 0}).sort("created", 1):
            records.append(
                CredentialRecord(
                    key=str(doc["_id"]),
                    name=str(doc.get("name", "")),
                    scopes=tuple(doc.get("scopes", ())),
                    created=str(doc.get("created", "")),
                    revoked=bool(doc.get("revoked")),
                )
            )
        return records

    async def revoke(self, key: str) -> bool:
        result = await self.collection.update_one({"_id": key}, {"$set": {"revoked": True}})
        self.cache.forget(key)
        self._active.pop(key, None)
        return result.matched_count == 1

    async def count_active(self) -> int:
        return await self.collection.count_documents({"revoked": False})
