"""Credentials in MongoDB: key/secret pairs with scrypt-hashed secrets and xAPI scopes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lrs.auth.basic import (
    DUMMY_HASH,
    VerifiedCache,
    hash_secret,
    new_key,
    new_secret,
    verify_secret,
)
from lrs.auth.scopes import Credential, unknown_scopes
from lrs.storage.protocols import CredentialRecord


class CredentialExists(ValueError):
    pass


class MongoCredentialStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, authority_home: str) -> None:
        self.collection = db["credentials"]
        self.authority_home = authority_home
        self.cache: VerifiedCache[Credential] = VerifiedCache()

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
        hashed = await asyncio.to_thread(hash_secret, secret)
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
        cached = self.cache.get(key, secret)
        if cached is not None:
            return cached
        doc = await self.collection.find_one({"_id": key})
        if doc is None or doc.get("revoked"):
            self.cache.forget(key)
            await asyncio.to_thread(verify_secret, secret, DUMMY_HASH)
            return None
        if not await asyncio.to_thread(verify_secret, secret, str(doc["secret_hash"])):
            return None
        credential = Credential(
            key=key,
            scopes=frozenset(doc.get("scopes", ())),
            authority=self.authority_for(key, str(doc.get("name", ""))),
            name=str(doc.get("name", "")),
        )
        self.cache.remember(key, secret, credential)
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
        return result.matched_count == 1

    async def count_active(self) -> int:
        return await self.collection.count_documents({"revoked": False})
