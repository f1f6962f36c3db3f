"""The audit log: an append-only record of security-relevant actions.

Who did what, to what, when and from where: token issuance, credential creation and
revocation, failed authentications, admin changes, erasures. The store only inserts and
reads; nothing in the service updates or deletes an entry (retention of the audit log
itself is an operator's decision, outside the LRS). Entries never hold a secret: callers
pass identifiers (a credential key, a forwarder id), never values.

    audit_log  {_id: ObjectId, at, actor, action, target, source, outcome, details}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

AUDIT = "audit_log"
MAX_LIST = 1000
INDEXES = [IndexModel([("action", 1), ("at", DESCENDING)], name="action_at")]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    actor: str
    """Who: a credential key, `cli` for the command line, `anonymous` before authentication."""
    action: str
    """What, dotted: `token.issued`, `credential.revoked`, `auth.failed`, `erasure.run`..."""
    target: str | None
    source: str | None
    """From where: the client address (HTTP) or `cli`."""
    outcome: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "source": self.source,
            "outcome": self.outcome,
            "details": self.details,
        }


class AuditLog:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.collection = db[AUDIT]
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await self.collection.create_indexes(INDEXES)

    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        source: str | None = None,
        outcome: str = "ok",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        await self.collection.insert_one(
            {
                "at": self.clock(),
                "actor": actor,
                "action": action,
                "target": target,
                "source": source,
                "outcome": outcome,
                "details": dict(details or {}),
            }
        )

    async def list(
        self, *, limit: int = 100, before: str | None = None, action: str | None = None
    ) -> list[AuditEntry]:
        """Newest first; page with `before` = the id of the last entry seen."""
        match: dict[str, Any] = {}
        if action is not None:
            match["action"] = action
        if before is not None and ObjectId.is_valid(before):
            match["_id"] = {"$lt": ObjectId(before)}
        cursor = self.collection.find(match).sort("_id", -1).limit(max(1, min(limit, MAX_LIST)))
        return [_entry(doc) async for doc in cursor]


def _entry(doc: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=str(doc["_id"]),
        at=doc["at"],
        actor=doc["actor"],
        action=doc["action"],
        target=doc.get("target"),
        source=doc.get("source"),
        outcome=doc.get("outcome", "ok"),
        details=dict(doc.get("details") or {}),
    )
