"""Server-side console sessions: the cookie carries a random token, the database its digest.

    console_sessions  {_id: sha256(token), key, csrf, created, expires,
                       identity: {claims: {...}} (OIDC sign-ins only)}

Only the digest is stored, so a copy of the collection signs nobody in. A session names its
credential's key, or keeps its ID token's claims, never its scopes: every request works out
its caller again (`lrs.console.callers`), so a revocation ends it at once. An OIDC session
expires with its ID token. Expired sessions are refused by the query itself; the TTL index
only tidies up later.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from statements.formats import stored_utc

SESSIONS = "console_sessions"
INDEXES = [IndexModel([("expires", 1)], name="expires_ttl", expireAfterSeconds=0)]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token: str
    key: str
    """The credential this session acts as."""
    csrf: str
    """The token every form of this session must echo (compared in constant time)."""
    expires: datetime
    identity: dict[str, Any] | None = None
    """For a sign-in through the OIDC provider: `{"claims": ...}`, the ID token's claims
    that map to its caller (there is no stored credential to look up); None for a
    credential's session."""


class SessionStore:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        lifetime: timedelta,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.collection = db[SESSIONS]
        self.lifetime = lifetime
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await self.collection.create_indexes(INDEXES)

    async def open(
        self,
        key: str,
        identity: dict[str, Any] | None = None,
        *,
        not_after: datetime | None = None,
    ) -> ConsoleSession:
        """A new session for `key`, for the store's lifetime or until `not_after` (the ID
        token's expiry), whichever comes first."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.lifetime if not_after is None else min(now + self.lifetime, not_after)
        doc = {"_id": _digest(token), "key": key, "csrf": csrf, "created": now, "expires": expires}
        if identity is not None:
            doc["identity"] = identity
        await self.collection.insert_one(doc)
        return ConsoleSession(token, key, csrf, expires, identity)

    async def get(self, token: str) -> ConsoleSession | None:
        """The live session for `token`, None when unknown or expired."""
        if not token or len(token) > 128:
            return None
        doc = await self.collection.find_one(
            {"_id": _digest(token), "expires": {"$gt": self.clock()}}
        )
        if doc is None:
            return None
        expires = stored_utc(doc["expires"])
        identity = doc.get("identity")
        return ConsoleSession(token, str(doc["key"]), str(doc["csrf"]), expires, identity)

    async def close(self, token: str) -> None:
        await self.collection.delete_one({"_id": _digest(token)})
