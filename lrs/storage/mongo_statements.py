"""Statements in MongoDB.

One document per statement:

    {_id: <statement id>, seq: <int64 stored sequence>, raw: <the statement's JSON text>,
     keys: ["*", "v:<verb>", "a:<agent>", "h:<sha2>", ...],   (see statement_keys.py)
     ref: <id its StatementRef targets>, voiding: <bool>, voided: <bool>, att: [<sha2>...],
     canon: {verb: <canonical word or IRI>, type: <object type>, v: <vocabulary version>}}

The statement is kept as JSON text, exactly as accepted: extension keys with dots or `$`
round-trip byte-exact, and GET serves the text without re-encoding. `keys` holds the derived
filter values (never merged into the statement) under one multikey index with `seq`.
Duplicates are found through the unique index on `_id`, never by a scan.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import orjson
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    BulkWriteError,
    CursorNotFound,
    PyMongoError,
    WriteError,
)

from lrs.storage import statement_keys as keys
from lrs.storage.group_commit import GroupCommit, Outcome
from lrs.storage.protocols import NewStatement
from lrs.storage.rekey import keys_current
from lrs.storage.sequence import (
    CLOCK_SKEW_MS,
    MS_SHIFT,
    future_seq,
    since_bound,
    until_bound,
)
from lrs.storage.windows import DensityMemory, WindowPlan
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

log = logging.getLogger(__name__)

MAX_TARGETING_DEPTH = 10
DUPLICATE_KEY = 11000
GROUP_LIMIT = 100
"""Single statements per group write: the batch size the write path is measured at."""
GROUP_DEPTH = 2
"""Group writes in flight at once. With two, a request that arrives while one group is being
written goes out at once in the next instead of waiting for the first to finish: groups are
smaller (mean 5.4 against 8.0 at concurrency 16) and cost the database more per statement
(0.64 against 0.51 ms), but the database never idles between groups, and single statements
at concurrency 16 stored 1,202/s against 1,116/s with p99 28 ms against 35 ms (bench/writes.py,
one run, same code otherwise). Concurrent groups are concurrent writers, which the store
already answers for (the unique `_id` index, the look-ups after each insert)."""
GROUP_WINDOW = 0.002
"""The longest a group write waits, while another is being written, for single-statement
requests ready to run up to their submit (`GroupCommit`)."""
NEWEST_REFRESH_SECONDS = 1.0
SCAN_BATCH = 2000
"""Documents per batch of a scan's cursor. The server's default batch (16 MiB, about 15,500
statements) is read only when the reader has used up the one before, so the database idled
while an export formatted each batch, and the export idled while the next was read: the two
took turns. Small batches (an export's page) are asked for while the reader formats the
pages already read, so both work at once (bench/export.py, docs/exports.md)."""


class MongoStatementStore:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        on_stored: Callable[[int], None] | None = None,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        self.on_stored = on_stored
        """Told how many new statements each insert durably stored (for metrics)."""
        self.db = db
        self.statements = db["statements"]
        self.attachments = db["attachments"]
        self.meta = db["meta"]
        self._density = DensityMemory()
        self._first: int | None = None
        self._first_noted = False
        self._newest = 0
        self._newest_shared = 0
        self._newest_read_at = -1e9
        self._newest_published_at = -1e9
        self._pairs_current = False
        self._pairs_checked_at = -1e9
        self._publishing: asyncio.Future[None] | None = None
        self.singles = GroupCommit(
            self._write_group,
            limit=GROUP_LIMIT,
            depth=GROUP_DEPTH,
            window=GROUP_WINDOW,
            on_group=on_group,
        )

    # -- commands ---------------------------------------------------------------------------

    async def insert_statements(
        self, statements: Sequence[NewStatement], attachments: Sequence[Attachment]
    ) -> list[str]:
        """Store a validated batch; returns the ids. Equivalent re-posts change nothing.

        A batch stands or falls as a whole; a single statement joins the concurrent single
        statements in one group write (see `group_commit.py`) and keeps its own outcome."""
        await self._store_attachments(attachments)
        if len(statements) == 1:
            await self.singles.submit(statements[0])
        else:
            await self._insert_batch(statements)
        return [s.id for s in statements]

    async def _insert_batch(self, statements: Sequence[NewStatement]) -> None:
        known = await self._related_documents(statements, existing=True)
        fresh = self._without_existing(statements, known)
        docs = self._documents(fresh, known)
        if docs:
            await self._stored(docs, fresh, known, partial(self._insert, docs, fresh))

    async def _stored(
        self,
        docs: list[dict[str, Any]],
        fresh: Sequence[NewStatement],
        known: dict[str, dict[str, Any]],
        insert: Callable[[], Awaitable[Sequence[str]]],
    ) -> None:
        """Run `insert` (it returns the ids it stored), then note and apply what it stored."""
        await self._note_first_seq(min(d["seq"] for d in docs))
        stored = set(await insert())
        if not stored:
            return
        docs = [d for d in docs if d["_id"] in stored]
        if self.on_stored is not None:
            self.on_stored(len(docs))
        await self._note_newest_seq(max(d["seq"] for d in docs))
        await self._apply_effects([s for s in fresh if s.id in stored], known, docs)

    async def _write_group(self, group: list[NewStatement]) -> list[Outcome]:
        """The single statements of concurrent requests in one write, each with its own
        outcome: the same as it would have had alone, arriving in this order.

        Existing copies are not looked up first: the unique `_id` index refuses them in the
        insert, and each is then compared with its stored copy (`_race_outcomes`)."""
        known = await self._related_documents(group, existing=False)
        outcomes: list[Outcome] = [None] * len(group)
        first: dict[str, int] = {}
        twins: dict[int, int] = {}
        for i, statement in enumerate(group):
            existing = known.get(statement.id)
            if existing is not None:
                outcomes[i] = _conflict_unless_same(orjson.loads(existing["raw"]), statement)
            elif (earlier := first.get(statement.id)) is None:
                first[statement.id] = i
            else:
                twins[i] = earlier  # the same id earlier in the group: answered after it
        fresh = [group[i] for i in first.values()]
        docs = self._documents(fresh, known)
        if docs:
            failed: dict[str, Outcome] = {}
            await self._stored(
                docs, fresh, known, partial(self._insert_members, docs, fresh, failed)
            )
            for statement_id, i in first.items():
                outcomes[i] = failed.get(statement_id)
        for i, earlier in twins.items():
            outcomes[i] = _as_twin(outcomes[earlier], group[earlier], group[i])
        return outcomes

    async def _insert_members(
        self,
        docs: list[dict[str, Any]],
        fresh: Sequence[NewStatement],
        failed: dict[str, Outcome],
    ) -> list[str]:
        """Insert unordered; every member that could not be stored gets its own outcome in
        `failed` (a conflict with a concurrent writer of its id, or its write error)."""
        try:
            await self.statements.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            _raise_unless_durable(error)
            errors = error.details.get("writeErrors", [])
            raced = [e["op"]["_id"] for e in errors if e.get("code") == DUPLICATE_KEY]
            for e in errors:
                if e.get("code") != DUPLICATE_KEY:
                    failed[e["op"]["_id"]] = WriteError(e.get("errmsg", ""), e.get("code"), e)
            if raced:
                failed.update(await self._race_outcomes(fresh, raced))
        # equivalent members that lost the race are in `failed` too, with outcome None:
        # acknowledged, but stored by the other writer (its effects are that writer's)
        return [d["_id"] for d in docs if d["_id"] not in failed]

    async def _race_outcomes(
        self, fresh: Sequence[NewStatement], raced: list[str]
    ) -> dict[str, Outcome]:
        """Members whose id a concurrent writer stored first: a conflict unless equivalent."""
        by_id = {s.id: s for s in fresh}
        outcomes: dict[str, Outcome] = {}
        async for doc in self.statements.find({"_id": {"$in": raced}}, {"raw": 1}):
            outcomes[doc["_id"]] = _conflict_unless_same(
                orjson.loads(doc["raw"]), by_id[doc["_id"]]
            )
        return outcomes

    async def _related_documents(
        self, statements: Sequence[NewStatement], *, existing: bool
    ) -> dict[str, dict[str, Any]]:
        """The statements these target (StatementRef) and, when `existing`, stored copies of
        their ids: one lookup by `_id`, none when there is nothing to look up.

        Statements that target these are looked up after the insert (`_after_insert`), which
        must look anyway for the ones written concurrently."""
        wanted = [s.id for s in statements] if existing else []
        wanted += [s.ref for s in statements if s.ref]
        if not wanted:
            return {}
        projection = {"raw": 1, "keys": 1, "ref": 1, "voiding": 1, "voided": 1}
        return {doc["_id"]: doc for doc in await self._fetch({"_id": {"$in": wanted}}, projection)}

    async def _fetch(
        self, match: dict[str, Any], projection: dict[str, int]
    ) -> list[dict[str, Any]]:
        return [doc async for doc in self.statements.find(match, projection)]

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
            index = _inherited_index(statement, known, batch, indexes, MAX_TARGETING_DEPTH)
            docs.append(
                {
                    "_id": statement.id,
                    "seq": statement.seq,
                    "raw": statement.raw,
                    "keys": keys.statement_keys(
                        index,
                        authority_key=statement.authority_key,
                        ref=statement.ref,
                        attachments=statement.attachment_hashes,
                    ),
                    "ref": statement.ref,
                    "voiding": statement.index.voids is not None,
                    "voided": self._voided_on_arrival(statement, known, batch),
                    "att": list(statement.attachment_hashes),
                    **_canon(statement),
                }
            )
        return docs

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

    async def _insert(self, docs: list[dict[str, Any]], fresh: Sequence[NewStatement]) -> list[str]:
        """Insert a batch; a concurrent writer of the same id is caught by the unique `_id`
        index (the whole batch fails if that one conflicts). Returns the ids inserted."""
        inserted = [d["_id"] for d in docs]
        try:
            await self.statements.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            _raise_unless_durable(error)
            duplicate = [
                e["op"]["_id"]
                for e in error.details.get("writeErrors", [])
                if e.get("code") == DUPLICATE_KEY
            ]
            if len(duplicate) != len(error.details.get("writeErrors", [])):
                raise
            inserted = [d["_id"] for d in docs if d["_id"] not in set(duplicate)]
            await self._resolve_race(fresh, duplicate, inserted=inserted)
        return inserted

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
        self,
        fresh: Sequence[NewStatement],
        known: dict[str, dict[str, Any]],
        docs: Sequence[dict[str, Any]],
    ) -> None:
        """Voiding, and StatementRef filter inheritance for statements that arrived earlier."""
        batch = {s.id: s for s in fresh}
        voided = [
            target
            for s in fresh
            if (target := s.index.voids)
            and (_voidable(target, known, batch) or _unseen(target, known, batch))
        ]
        if voided:
            match = {"_id": {"$in": voided}, "voiding": {"$ne": True}}
            await self.statements.update_many(match, {"$set": {"voided": True}})
        await self._after_insert(docs)

    async def _after_insert(self, docs: Sequence[dict[str, Any]]) -> None:
        """What the statements that target the new ones (StatementRef) change, found in one
        lookup after the insert: a voiding statement voids its target, and every targeting
        statement inherits its target's filter values.

        After, not before: a voiding statement and its target written concurrently may each
        look for the other before either is inserted. Each side looks after its own insert
        (the voiding statement by voiding its unseen target in `_apply_effects`, the target
        here), so at least one sees the other and the target is voided before either write is
        acknowledged. A target stored after its voiding statement is voided here too."""
        match = {"keys": {"$in": [keys.targets(d["_id"]) for d in docs]}}
        targeters = await self._fetch(match, {"ref": 1, "voiding": 1})
        if not targeters:
            return
        voidable = {d["_id"] for d in docs if not d["voiding"] and not d["voided"]}
        late = sorted({t["ref"] for t in targeters if t.get("voiding") and t["ref"] in voidable})
        if late:
            await self.statements.update_many(
                {"_id": {"$in": late}, "voiding": {"$ne": True}}, {"$set": {"voided": True}}
            )
        targeted = {t["ref"] for t in targeters}
        for doc in docs:
            if doc["_id"] in targeted:
                await self._propagate(doc["_id"], keys.index_from_keys(doc["keys"]))

    async def _propagate(self, target_id: str, inherited: StatementIndex) -> None:
        """Earlier statements targeting this one now match its filters too (recursively).

        Each targeter gets the target's values and the pairs they make with its own, so
        its keys are computed one by one (targeters are few: only statements that arrived
        before the statement they reference)."""
        frontier = [target_id]
        for _ in range(MAX_TARGETING_DEPTH):
            match = {"keys": {"$in": [keys.targets(i) for i in frontier]}}
            targeters = await self._fetch(match, {"keys": 1})
            if not targeters:
                return
            await self.statements.bulk_write(
                [
                    UpdateOne(
                        {"_id": doc["_id"]},
                        {"$addToSet": {"keys": {"$each": _inheriting(doc, inherited)}}},
                    )
                    for doc in targeters
                ],
                ordered=False,
            )
            frontier = [doc["_id"] for doc in targeters]

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
        doc = await self.statements.find_one({"_id": statement_id})  # whole: see `_window_of`
        if doc is None or bool(doc.get("voided")) != voided:
            return None
        return _stored(doc)

    async def find_statements(
        self, query: StatementQuery, *, authority_key: str | None
    ) -> StatementPage:
        """A page in `stored` order, read through small seq windows (see `windows.py`)."""
        required = keys.query_keys(query, authority_key, pairs=await self._pairs_stored())
        shape, kind = tuple(required), "".join(sorted(k.partition(":")[0] for k in required))
        low, high = await self._bounds(query)
        density, densest = self._density.estimate(shape, kind)
        plan = WindowPlan(
            low,
            high,
            query.ascending,
            query.limit + 1,
            density,
            densest,
            start=await self._newest_seq() if not query.ascending else None,
        )
        # The index bounds come from the most selective key alone: `$all`, like any other
        # extra predicate, makes SecantusDB scan the collection. The rest is checked here.
        first, others = keys.alternatives(required[0]), [keys.alternatives(k) for k in required[1:]]
        docs: list[dict[str, Any]] = []
        while (window := plan.next_window()) is not None:
            wanted = plan.want - plan.found
            batch = await self._window(first, window, query.ascending, wanted)
            live = [d for d in batch if not d.get("voided") and _has_all(d.get("keys", ()), others)]
            stopped_at = batch[-1]["seq"] if len(batch) == wanted else None
            if stopped_at is not None and len(live) < wanted:
                plan.resume_after(stopped_at)  # skipped ones filled the read: go on
            plan.record(window, len(live), stopped_at, live[0]["seq"] if live else None)
            docs += live
        if (density := plan.observed_density()) is not None:
            self._density.remember(shape, kind, density)
        more = docs[query.limit - 1]["seq"] if len(docs) > query.limit else None
        return StatementPage([_stored(doc) for doc in docs[: query.limit]], more)

    async def scan_statements(
        self, query: StatementQuery, *, include_voided: bool = False
    ) -> AsyncIterator[StoredStatement]:
        """Every statement the query matches, through one cursor: for bulk readers that want
        them all (exports). The keys, bounds and voided rule of `find_statements`.

        A query with filters, or starting after some point (`since`, `after`), walks the
        keys index in `stored` order; a cursor the server dropped is reopened after the last
        statement read. An unfiltered read from the start reads the collection in its
        natural (insertion) order instead, which is `stored` order except where concurrent
        writers interleaved: on SecantusDB an index walk over the whole store reads at about
        half the rate of a collection scan (measured, bench/export.py).

        Both read whole documents: SecantusDB projects in Python, copying every projected
        field of every document (`copy.deepcopy`; the int64 `seq` goes through
        `__reduce_ex__`), which doubled its work on a collection scan (50,000 statements,
        time to the first batch: 2.7-2.9 s projected to `seq`, `raw`, `voided` and
        `canon.verb`, 1.4 s whole). Decoding the larger documents costs the client about
        4 us more per statement, mostly the `keys` array (8.9 against 5.0 us, one
        thread, `StoredStatement` included)."""
        required = keys.query_keys(query, None, pairs=await self._pairs_stored())
        low, high = await self._bounds(replace(query, ascending=True))
        if required == [keys.ALL] and low <= await self._first_seq():
            # the bounds are checked here: a predicate costs SecantusDB a test per document
            async for doc in self.statements.find({}, batch_size=SCAN_BATCH):
                if low <= doc["seq"] < high and (include_voided or not doc.get("voided")):
                    yield _stored(doc)
            return
        others = [keys.alternatives(k) for k in required[1:]]
        scans = [self._scan_key(k, low, high) for k in keys.alternatives(required[0])]
        async for doc in _merged(scans):
            if include_voided or not doc.get("voided"):
                if _has_all(doc.get("keys", ()), others):
                    yield _stored(doc)

    async def _scan_key(self, key: str, low: int, high: int) -> AsyncIterator[dict[str, Any]]:
        """The statements carrying `key` with `low <= seq < high`, in `stored` order; a cursor
        the server dropped is reopened after the last statement read."""
        while low < high:
            cursor = self.statements.find(
                {"keys": key, "seq": {"$gte": low, "$lt": high}}, batch_size=SCAN_BATCH
            ).sort("seq", 1)
            try:
                async for doc in cursor:
                    low = int(doc["seq"]) + 1
                    yield doc
                return
            except CursorNotFound:
                log.info("statement scan cursor dropped by the server; reopening")
            finally:
                await cursor.close()

    async def _window(
        self,
        alternatives: Sequence[str],
        window: tuple[int, int],
        ascending: bool,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The first `limit` statements of the window carrying any of `alternatives`: one
        read per key (a `$in` beside the `seq` range is not served by SecantusDB's index),
        merged in order."""
        reads = [self._window_of(k, window, ascending, limit) for k in alternatives]
        if len(reads) == 1:
            return await reads[0]
        found = {doc["_id"]: doc for batch in await asyncio.gather(*reads) for doc in batch}
        return sorted(found.values(), key=lambda d: int(d["seq"]), reverse=not ascending)[:limit]

    async def _window_of(
        self, key: str, window: tuple[int, int], ascending: bool, limit: int
    ) -> list[dict[str, Any]]:
        """Whole documents, as `scan_statements` reads them: SecantusDB projects in Python,
        deep-copying every value a projection keeps, which costs it more than sending the
        fields a page does not need."""
        # Only indexed fields in the filter and no hint: on SecantusDB either costs a scan
        # (an unindexed predicate) or ~40 ms (a hint). Voided statements are dropped after.
        cursor = (
            self.statements.find({"keys": key, "seq": {"$gte": window[0], "$lt": window[1]}})
            .sort("seq", 1 if ascending else -1)
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def _pairs_stored(self) -> bool:
        """Whether every stored statement has its pair keys (see `lrs.storage.rekey`):
        asked of the database every few seconds until it says yes, then never again."""
        if not self._pairs_current and time.monotonic() - self._pairs_checked_at > 5.0:
            self._pairs_checked_at = time.monotonic()
            self._pairs_current = await keys_current(self.db)
        return self._pairs_current

    async def _bounds(self, query: StatementQuery) -> tuple[int, int]:
        """[low, high) of the seq range the query may touch."""
        low = max(await self._first_seq(), since_bound(query.since) if query.since else 0)
        high = until_bound(query.until) if query.until else future_seq()
        if query.after is not None:
            if query.ascending:
                low = max(low, query.after + 1)
            else:
                high = min(high, query.after)
        return low, high

    async def _first_seq(self) -> int:
        """A lower bound of every stored seq (past-the-end when nothing was ever stored)."""
        if self._first is None:
            doc = await self.meta.find_one({"_id": "statements"})
            if doc is None or "first_seq" not in doc:
                return future_seq()
            # margin for API nodes whose clocks lag behind this one
            self._first = max(0, int(doc["first_seq"]) - (CLOCK_SKEW_MS << MS_SHIFT))
        return self._first

    async def _newest_seq(self) -> int | None:
        """The newest seq known (ours, or any process's, at most a second or two stale), so a
        newest-first read starts where the statements are instead of growing its windows
        across an empty stretch into a dense one."""
        if time.monotonic() - self._newest_read_at > NEWEST_REFRESH_SECONDS:
            doc = await self.meta.find_one({"_id": "statements"})
            self._newest_shared = int(doc.get("last_seq", 0)) if doc else 0
            self._newest_read_at = time.monotonic()
        newest = max(self._newest, self._newest_shared)
        return newest or None

    async def _note_newest_seq(self, seq: int) -> None:
        """Publish our newest seq, at most once a second (one small write, not one per batch).

        A write inside the second after a publish is published when that second is over
        (by a task), so the shared value is never more than about a second behind: other
        processes (and this one after a restart) start newest-first reads there, and every
        statement above it lands in their first window."""
        self._newest = max(self._newest, seq)
        wait = self._newest_published_at + NEWEST_REFRESH_SECONDS - time.monotonic()
        if wait <= 0:
            await self._publish_newest()
        elif self._publishing is None or self._publishing.done():
            self._publishing = asyncio.ensure_future(self._publish_newest(after=wait))

    async def _publish_newest(self, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
        self._newest_published_at = time.monotonic()
        try:
            await self.meta.update_one(
                {"_id": "statements"}, {"$max": {"last_seq": self._newest}}, upsert=True
            )
        except PyMongoError:
            if not after:
                raise
            # a deferred publish has no request to fail: the next write publishes again
            log.warning("could not publish the newest stored seq", exc_info=True)

    async def _note_first_seq(self, seq: int) -> None:
        """Record the oldest seq once per process, so ascending reads know where to start."""
        if self._first_noted:
            return
        await self.meta.update_one({"_id": "statements"}, {"$min": {"first_seq": seq}}, upsert=True)
        self._first_noted = True
        self._first = None

    async def get_attachments(self, hashes: Sequence[str]) -> list[Attachment]:
        found = []
        async for doc in self.attachments.find({"_id": {"$in": list(hashes)}}):
            found.append(Attachment(doc["_id"], doc["content_type"], bytes(doc["content"])))
        return found


def _inherited_index(
    statement: NewStatement,
    known: dict[str, dict[str, Any]],
    batch: dict[str, NewStatement],
    indexes: dict[str, StatementIndex],
    depth: int,
) -> StatementIndex:
    """The spec's StatementRef filter rule: match what the targeted statement matches.

    The target may be stored already (`known`) or come in the same batch, before or after
    the statement (its index is worked out first, to `depth` levels)."""
    if statement.id in indexes:
        return indexes[statement.id]
    index = statement.index
    indexes[statement.id] = index  # a reference cycle ends here
    ref = statement.ref
    if ref is not None and ref in batch and depth > 0:
        target = _inherited_index(batch[ref], known, batch, indexes, depth - 1)
        index = merge_targeted(index, target)
    elif ref is not None and ref in known:
        index = merge_targeted(index, keys.index_from_keys(known[ref].get("keys", ())))
    indexes[statement.id] = index
    return index


def _inheriting(targeter: dict[str, Any], inherited: StatementIndex) -> list[str]:
    own = keys.index_from_keys(targeter.get("keys", ()))
    return keys.filter_keys(merge_targeted(own, inherited))


def _raise_unless_durable(error: BulkWriteError) -> None:
    """A write concern error means the writes were applied but their durability (journal,
    majority) is not confirmed: nothing of it may be acknowledged, whatever else failed."""
    if error.details.get("writeConcernErrors"):
        raise error


def _conflict_unless_same(
    stored: dict[str, Any], statement: NewStatement
) -> StatementConflict | None:
    if statements_equivalent(stored, statement.statement):
        return None
    return StatementConflict(statement.id)


def _as_twin(outcome: Outcome, earlier: NewStatement, statement: NewStatement) -> Outcome:
    """The outcome of a member with the id of an earlier member of its group (`outcome`):
    what a request for the same id gets once the earlier one is stored (or is not)."""
    if not statements_equivalent(earlier.statement, statement.statement):
        return StatementConflict(statement.id)
    if isinstance(outcome, StatementConflict):
        return StatementConflict(statement.id)
    return outcome


def _canon(statement: NewStatement) -> dict[str, Any]:
    """The canonical verb, object type and vocabulary version, beside the statement."""
    if statement.canonical is None:
        return {}
    return {"canon": statement.canonical.as_document()}


def _has_all(present: Sequence[str], required: list[tuple[str, ...]]) -> bool:
    """Whether `present` holds one of the alternatives of every required key."""
    return all(any(key in present for key in group) for group in required)


async def _merged(
    scans: Sequence[AsyncIterator[dict[str, Any]]],
) -> AsyncIterator[dict[str, Any]]:
    """Documents of several `stored`-ordered scans in `stored` order, each once."""
    heads: dict[int, dict[str, Any]] = {}
    for i, scan in enumerate(scans):
        if (doc := await anext(scan, None)) is not None:
            heads[i] = doc
    last: dict[str, Any] | None = None
    while heads:
        i = min(heads, key=lambda j: int(heads[j]["seq"]))
        doc = heads.pop(i)
        if last is None or doc["_id"] != last["_id"]:
            yield doc
        last = doc
        if (following := await anext(scans[i], None)) is not None:
            heads[i] = following


def _voidable(
    target: str, known: dict[str, dict[str, Any]], batch: dict[str, NewStatement]
) -> bool:
    """Only a statement that is not itself a voiding statement can be voided."""
    if target in batch:
        return batch[target].index.voids is None
    doc = known.get(target)
    return doc is not None and not doc.get("voiding")


def _unseen(target: str, known: dict[str, dict[str, Any]], batch: dict[str, NewStatement]) -> bool:
    """A target not stored when the batch looked: it may have landed since."""
    return target not in known and target not in batch


def _stored(doc: dict[str, Any]) -> StoredStatement:
    return StoredStatement(
        id=doc["_id"],
        seq=int(doc["seq"]),
        raw=doc["raw"],
        attachments=tuple(doc.get("att", ())),
        canonical_verb=(doc.get("canon") or {}).get("verb"),
    )
