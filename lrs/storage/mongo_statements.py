"""Statements in MongoDB.

One document per statement:

    {_id: <statement id>, seq: <int64 stored sequence>, raw: <the statement's JSON text>,
     idx: {verb: [...], agent: [...], agent_rel: [...], activity: [...], activity_rel: [...],
           registration: [...]},
     ref: <id of the statement it targets, when its object is a StatementRef>,
     voiding: <bool>, voided: <bool>, auth: <authority IFI key>, att: [<sha2>...]}

The statement is kept as JSON text, exactly as accepted: extension keys with dots or `$`
round-trip byte-exact, and GET serves the text without re-encoding. `idx` holds the derived
filter values (never merged into the statement). Duplicates are found through the unique
index on `_id`, never by a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from lrs.storage.protocols import NewStatement
from lrs.storage.sequence import since_bound, until_bound
from statements.compare import statements_equivalent
from statements.errors import StatementConflict
from statements.index import merge_targeted
from statements.types import (
    Attachment,
    StatementIndex,
    StatementPage,
    StatementQuery,
    StoredStatement,
)

IDX_FIELDS = {
    "verbs": "verb",
    "agents": "agent",
    "related_agents": "agent_rel",
    "activities": "activity",
    "related_activities": "activity_rel",
    "registrations": "registration",
}
MAX_TARGETING_DEPTH = 10


def index_document(index: StatementIndex) -> dict[str, list[str]]:
    return {name: list(getattr(index, attr)) for attr, name in IDX_FIELDS.items()}


def index_from_document(doc: dict[str, Any], voids: str | None) -> StatementIndex:
    values = {attr: tuple(doc.get(name, ())) for attr, name in IDX_FIELDS.items()}
    return StatementIndex(voids=voids, **values)


class MongoStatementStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.statements = db["statements"]
        self.attachments = db["attachments"]

    # -- commands ---------------------------------------------------------------------------

    async def insert_statements(
        self, statements: Sequence[NewStatement], attachments: Sequence[Attachment]
    ) -> list[str]:
        """Store a validated batch; returns the ids. Equivalent re-posts change nothing."""
        await self._store_attachments(attachments)
        known = await self._related_documents(statements)
        fresh = self._without_existing(statements, known)
        docs = self._documents(fresh, known)
        if docs:
            await self._insert(docs, fresh)
            await self._apply_effects(fresh, known)
        return [s.id for s in statements]

    async def _related_documents(
        self, statements: Sequence[NewStatement]
    ) -> dict[str, dict[str, Any]]:
        """In one indexed query: existing copies, targeted statements and earlier targeters."""
        ids = [s.id for s in statements]
        targets = [s.index.voids or s.ref for s in statements if s.ref]
        query = {"$or": [{"_id": {"$in": ids + [t for t in targets if t]}}, {"ref": {"$in": ids}}]}
        projection = {"raw": 1, "idx": 1, "ref": 1, "voiding": 1, "voided": 1}
        return {doc["_id"]: doc async for doc in self.statements.find(query, projection)}

    def _without_existing(
        self, statements: Sequence[NewStatement], known: dict[str, dict[str, Any]]
    ) -> list[NewStatement]:
        fresh = []
        for statement in statements:
            existing = known.get(statement.id)
            if existing is None:
                fresh.append(statement)
            elif not statements_equivalent(orjson.loads(existing["raw"]), statement.statement):
                raise StatementConflict(statement.id)
        return fresh

    def _documents(
        self, fresh: Sequence[NewStatement], known: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        batch = {s.id: s for s in fresh}
        indexes: dict[str, StatementIndex] = {}
        docs = []
        for statement in fresh:
            index = self._inherited_index(statement, known, indexes)
            indexes[statement.id] = index
            docs.append(
                {
                    "_id": statement.id,
                    "seq": statement.seq,
                    "raw": statement.raw,
                    "idx": index_document(index),
                    "ref": statement.ref,
                    "voiding": statement.index.voids is not None,
                    "voided": self._voided_on_arrival(statement, known, batch),
                    "auth": statement.authority_key,
                    "att": list(statement.attachment_hashes),
                }
            )
        return docs

    @staticmethod
    def _inherited_index(
        statement: NewStatement,
        known: dict[str, dict[str, Any]],
        batch_indexes: dict[str, StatementIndex],
    ) -> StatementIndex:
        """The spec's StatementRef filter rule: match what the targeted statement matches."""
        if statement.ref is None:
            return statement.index
        if statement.ref in batch_indexes:
            return merge_targeted(statement.index, batch_indexes[statement.ref])
        target = known.get(statement.ref)
        if target is None:
            return statement.index
        return merge_targeted(statement.index, index_from_document(target.get("idx", {}), None))

    @staticmethod
    def _voided_on_arrival(
        statement: NewStatement,
        known: dict[str, dict[str, Any]],
        batch: dict[str, NewStatement],
    ) -> bool:
        """A statement that arrives after its voiding statement is voided at once."""
        if statement.index.voids is not None:
            return False  # a voiding statement is never itself voided
        earlier = (doc for doc in known.values() if doc.get("ref") == statement.id)
        if any(doc.get("voiding") for doc in earlier):
            return True
        return any(s.index.voids == statement.id for s in batch.values())

    async def _insert(self, docs: list[dict[str, Any]], fresh: Sequence[NewStatement]) -> None:
        """Insert; a concurrent writer of the same id is caught by the unique `_id` index."""
        if len(docs) == 1:
            try:
                await self.statements.insert_one(docs[0])
            except DuplicateKeyError:
                await self._resolve_race(fresh, [fresh[0].id], inserted=[])
            return
        try:
            await self.statements.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            duplicate = [
                e["op"]["_id"]
                for e in error.details.get("writeErrors", [])
                if e.get("code") == 11000
            ]
            if len(duplicate) != len(error.details.get("writeErrors", [])):
                raise
            inserted = [d["_id"] for d in docs if d["_id"] not in set(duplicate)]
            await self._resolve_race(fresh, duplicate, inserted=inserted)

    async def _resolve_race(
        self, fresh: Sequence[NewStatement], duplicate: list[str], *, inserted: list[str]
    ) -> None:
        by_id = {s.id: s for s in fresh}
        async for doc in self.statements.find({"_id": {"$in": duplicate}}, {"raw": 1}):
            if not statements_equivalent(orjson.loads(doc["raw"]), by_id[doc["_id"]].statement):
                seqs = [by_id[i].seq for i in inserted]
                await self.statements.delete_many({"_id": {"$in": inserted}, "seq": {"$in": seqs}})
                raise StatementConflict(doc["_id"])

    async def _apply_effects(
        self, fresh: Sequence[NewStatement], known: dict[str, dict[str, Any]]
    ) -> None:
        """Voiding, and StatementRef filter inheritance for statements that arrived earlier."""
        voided = [s.index.voids for s in fresh if s.index.voids]
        if voided:
            await self.statements.update_many(
                {"_id": {"$in": voided}, "voiding": False}, {"$set": {"voided": True}}
            )
        targeters = [
            doc["_id"] for doc in known.values() if doc.get("ref") in {s.id for s in fresh}
        ]
        for statement in fresh:
            if any(known[t].get("ref") == statement.id for t in targeters):
                await self._propagate(statement.id, index_document(statement.index))

    async def _propagate(self, target_id: str, idx: dict[str, list[str]]) -> None:
        additions = {f"idx.{name}": {"$each": values} for name, values in idx.items() if values}
        frontier = [target_id]
        for _ in range(MAX_TARGETING_DEPTH):
            ids = [
                d["_id"] async for d in self.statements.find({"ref": {"$in": frontier}}, {"_id": 1})
            ]
            if not ids:
                return
            await self.statements.update_many({"_id": {"$in": ids}}, {"$addToSet": additions})
            frontier = ids

    async def _store_attachments(self, attachments: Sequence[Attachment]) -> None:
        for attachment in attachments:
            await self.attachments.update_one(
                {"_id": attachment.sha2},
                {
                    "$setOnInsert": {
                        "content_type": attachment.content_type,
                        "length": len(attachment.content),
                        "content": attachment.content,
                    }
                },
                upsert=True,
            )

    # -- queries ----------------------------------------------------------------------------

    async def get_statement(self, statement_id: str, *, voided: bool) -> StoredStatement | None:
        doc = await self.statements.find_one(
            {"_id": statement_id, "voided": voided}, {"seq": 1, "raw": 1, "att": 1}
        )
        return None if doc is None else _stored(doc)

    async def find_statements(
        self, query: StatementQuery, *, authority_key: str | None
    ) -> StatementPage:
        direction = 1 if query.ascending else -1
        cursor = (
            self.statements.find(self._filter(query, authority_key), {"seq": 1, "raw": 1, "att": 1})
            .sort("seq", direction)
            .limit(query.limit + 1)
        )
        docs = [doc async for doc in cursor]
        more = docs[query.limit - 1]["seq"] if len(docs) > query.limit else None
        return StatementPage([_stored(doc) for doc in docs[: query.limit]], more)

    @staticmethod
    def _filter(query: StatementQuery, authority_key: str | None) -> dict[str, Any]:
        match: dict[str, Any] = {"voided": False}
        if query.agent is not None:
            match["idx.agent_rel" if query.related_agents else "idx.agent"] = query.agent
        if query.verb is not None:
            match["idx.verb"] = query.verb
        if query.activity is not None:
            match["idx.activity_rel" if query.related_activities else "idx.activity"] = (
                query.activity
            )
        if query.registration is not None:
            match["idx.registration"] = query.registration
        if authority_key is not None:
            match["auth"] = authority_key
        seq: dict[str, int] = {}
        if query.since is not None:
            seq["$gte"] = since_bound(query.since)
        if query.until is not None:
            seq["$lt"] = until_bound(query.until)
        if query.after is not None:
            op = "$gt" if query.ascending else "$lt"
            seq[op] = query.after if op not in seq else _tighter(op, seq[op], query.after)
        if seq:
            match["seq"] = seq
        return match

    async def get_attachments(self, hashes: Sequence[str]) -> list[Attachment]:
        found = []
        async for doc in self.attachments.find({"_id": {"$in": list(hashes)}}):
            found.append(Attachment(doc["_id"], doc["content_type"], bytes(doc["content"])))
        return found

    async def last_stored(self) -> str | None:
        doc = await self.statements.find_one({}, {"raw": 0}, sort=[("seq", -1)])
        return None if doc is None else str(doc["seq"])


def _tighter(op: str, current: int, candidate: int) -> int:
    return min(current, candidate) if op == "$lt" else max(current, candidate)


def _stored(doc: dict[str, Any]) -> StoredStatement:
    return StoredStatement(
        id=doc["_id"], seq=int(doc["seq"]), raw=doc["raw"], attachments=tuple(doc.get("att", ()))
    )
