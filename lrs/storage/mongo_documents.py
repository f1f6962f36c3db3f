"""State, Agent Profile and Activity Profile documents in MongoDB.

One collection, one MongoDB document per xAPI document:

    {_id: ObjectId, kind: "state" | "activity_profile" | "agent_profile",
     activity: <activity IRI or null>, agent: <agent IFI key or null>,
     registration: <lowercased UUID or null>, doc_id: <stateId / profileId>,
     content: <BSON binary, the exact bytes>, content_type: <as sent>,
     etag: <SHA-1 hex of content>, updated: <datetime, ms>, rev: <int>}

Identity is the unique index `identity` on (kind, activity, agent, registration, doc_id):
every value is a typed field value, never a field name. Every filter sent here is the field
set of an index prefix (`identity`, `identity_rev`, `agent`), because SecantusDB scans the
collection for any filter with a field outside the index it picks. Writes are compare-and-set: a new
document is inserted (a concurrent creator loses on the unique index), an existing one is
replaced only if `rev` is still the one the plan was made against; otherwise the write is
re-planned against the fresh document. `updated` strictly increases per document, so
`Last-Modified` and `since` move forward on every write even within one millisecond.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from statements.documents import (
    DocumentContent,
    DocumentKey,
    DocumentScope,
    StoredDocument,
    etag_of,
)
from statements.errors import PreconditionRequired

MAX_ATTEMPTS = 20
"""Re-plans of one write under contention before giving up with 409."""
MAX_BACKOFF_SECONDS = 0.05

Plan = Callable[[StoredDocument | None], DocumentContent]
Check = Callable[[StoredDocument | None], None]


def key_filter(key: DocumentKey) -> dict[str, Any]:
    scope = key.scope
    return {
        "kind": scope.kind,
        "activity": scope.activity_id,
        "agent": scope.agent_key,
        "registration": scope.registration,
        "doc_id": key.document_id,
    }


def scope_filter(scope: DocumentScope) -> dict[str, Any]:
    """Every document of a scope; a State scope without registration spans all of them."""
    match: dict[str, Any] = {
        "kind": scope.kind,
        "activity": scope.activity_id,
        "agent": scope.agent_key,
    }
    if scope.kind != "state" or scope.registration is not None:
        match["registration"] = scope.registration
    return match


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _next_updated(current: StoredDocument | None) -> datetime:
    now = _now()
    if current is not None and now <= current.updated:
        return current.updated + timedelta(milliseconds=1)
    return now


def _stored(doc: dict[str, Any]) -> StoredDocument:
    return StoredDocument(
        content=bytes(doc.get("content", b"")),
        content_type=doc["content_type"],
        etag=doc["etag"],
        updated=doc["updated"],
        revision=int(doc["rev"]),
    )


class MongoDocumentStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.documents = db["documents"]

    # -- queries ----------------------------------------------------------------------------

    async def get_document(
        self, key: DocumentKey, *, with_content: bool = True
    ) -> StoredDocument | None:
        projection = {"_id": 0, "content_type": 1, "etag": 1, "updated": 1, "rev": 1}
        if with_content:
            projection["content"] = 1
        doc = await self.documents.find_one(key_filter(key), projection)
        return None if doc is None else _stored(doc)

    async def list_document_ids(
        self, scope: DocumentScope, since: datetime | None
    ) -> tuple[list[str], datetime | None]:
        """The ids of a scope (updated strictly after `since`) and the latest `updated`.

        `since` is applied here, not in the filter: the scope is a prefix of the identity
        index, and a predicate on `updated` beside it would make SecantusDB scan the
        collection (a scope holds few documents; the collection may hold millions)."""
        ids: list[str] = []
        latest: datetime | None = None
        projection = {"_id": 0, "doc_id": 1, "updated": 1}
        async for doc in self.documents.find(scope_filter(scope), projection):
            if since is not None and doc["updated"] <= since:
                continue
            ids.append(doc["doc_id"])
            latest = doc["updated"] if latest is None else max(latest, doc["updated"])
        return ids, latest

    # -- commands ---------------------------------------------------------------------------

    async def write_document(
        self, key: DocumentKey, plan: Plan, *, needs_content: bool
    ) -> StoredDocument:
        """Store what `plan` makes of the current document, atomically (see module doc)."""
        for attempt in range(MAX_ATTEMPTS):
            await _backoff(attempt)
            current = await self.get_document(key, with_content=needs_content)
            document = plan(current)
            stored = StoredDocument(
                content=document.content,
                content_type=document.content_type,
                etag=etag_of(document.content),
                updated=_next_updated(current),
                revision=1 if current is None else current.revision + 1,
            )
            if await self._compare_and_set(key, current, stored):
                return stored
        raise _contended()

    async def _compare_and_set(
        self, key: DocumentKey, current: StoredDocument | None, stored: StoredDocument
    ) -> bool:
        fields = {
            "content": Binary(stored.content),
            "content_type": stored.content_type,
            "etag": stored.etag,
            "updated": stored.updated,
            "rev": stored.revision,
        }
        if current is None:
            try:
                await self.documents.insert_one({**key_filter(key), **fields})
            except DuplicateKeyError:
                return False
            return True
        match = {**key_filter(key), "rev": current.revision}
        result = await self.documents.update_one(match, {"$set": fields})
        return result.matched_count == 1

    async def delete_document(self, key: DocumentKey, check: Check | None) -> None:
        """Delete one document; `check` (preconditions) sees the document it would delete."""
        if check is None:
            await self.documents.delete_one(key_filter(key))
            return
        for attempt in range(MAX_ATTEMPTS):
            await _backoff(attempt)
            current = await self.get_document(key, with_content=False)
            check(current)
            if current is None:
                return
            match = {**key_filter(key), "rev": current.revision}
            if (await self.documents.delete_one(match)).deleted_count == 1:
                return
        raise _contended()

    async def delete_documents(self, scope: DocumentScope) -> int:
        return (await self.documents.delete_many(scope_filter(scope))).deleted_count


async def _backoff(attempt: int) -> None:
    """Nothing before the first attempt; then a jittered, growing pause, so that writers
    that keep colliding spread out instead of retrying in lockstep."""
    if attempt:
        cap = min(MAX_BACKOFF_SECONDS, 0.001 * 2**attempt)
        await asyncio.sleep(cap * secrets.randbelow(1001) / 1000)


def _contended() -> PreconditionRequired:
    return PreconditionRequired(
        "the document kept changing while this request was applied: GET it and retry "
        "with an If-Match header",
        {"required_header": "If-Match"},
    )
