"""Indexes, created at start-up (idempotent). Each GET filter has a compound index ending in
`seq`, so the filter and the `stored` order are served by the same index."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

STATEMENT_INDEXES = [
    IndexModel([("seq", DESCENDING)], name="seq", unique=True),
    IndexModel([("idx.verb", ASCENDING), ("seq", DESCENDING)], name="verb_seq"),
    IndexModel([("idx.agent", ASCENDING), ("seq", DESCENDING)], name="agent_seq"),
    IndexModel([("idx.agent_rel", ASCENDING), ("seq", DESCENDING)], name="agent_rel_seq"),
    IndexModel([("idx.activity", ASCENDING), ("seq", DESCENDING)], name="activity_seq"),
    IndexModel([("idx.activity_rel", ASCENDING), ("seq", DESCENDING)], name="activity_rel_seq"),
    IndexModel([("idx.registration", ASCENDING), ("seq", DESCENDING)], name="registration_seq"),
    IndexModel([("auth", ASCENDING), ("seq", DESCENDING)], name="auth_seq"),
    IndexModel([("ref", ASCENDING)], name="ref"),
]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["statements"].create_indexes(STATEMENT_INDEXES)
