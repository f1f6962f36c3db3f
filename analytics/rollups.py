"""The rollup collections; this module is the only one that reads or writes them.

    analytics_days      {_id: day_id, a, d, upto, c: {verb: n}, s: {n, v: {score: n}},
                         l: {verb: {learner: n}}}
    analytics_learners  {_id: learner_id, a, v, l, n, upto}       (all time)

A statement touches two documents: its activity's day (counts, scores and that day's
learners together) and its (activity, verb, learner) document, which serves the all-time
distinct learners and the per-learner endpoint.

Every document carries `upto`: the end of the last sequence range applied to it. A range
`[from, to)` is applied to a document only while `upto < to` (the filter of a conditional
upsert), so applying the same range twice, after a crash or by a second consumer, changes
nothing the second time. Verb IRIs and scores become field names escaped (see
`contribution.field_name`); user data is never an operator.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from analytics.contribution import Delta, value_of

DAYS = "analytics_days"
LEARNERS = "analytics_learners"
DUPLICATE_KEY = 11000
Document = dict[str, Any]


class RollupStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.days = db[DAYS]
        self.learners = db[LEARNERS]

    async def ensure_indexes(self) -> None:
        await self.days.create_indexes(
            [IndexModel([("a", ASCENDING), ("d", ASCENDING)], name="activity_day")]
        )
        await self.learners.create_indexes(
            [
                IndexModel([("a", ASCENDING), ("v", ASCENDING)], name="activity_verb"),
                IndexModel([("l", ASCENDING), ("a", ASCENDING)], name="learner_activity"),
            ]
        )

    # -- commands ---------------------------------------------------------------------------

    async def apply(self, delta: Delta, upto: int) -> None:
        """Add a range's increments to each document not yet past `upto`."""
        for collection, increments in self._parts(delta):
            operations = [
                UpdateOne(
                    {"_id": doc_id, "upto": {"$lt": upto}},
                    {
                        "$inc": changed,
                        "$set": {"upto": upto},
                        "$setOnInsert": delta.identity[doc_id],
                    },
                    upsert=True,
                )
                for doc_id, inc in increments.items()
                if (changed := {k: v for k, v in inc.items() if v})
            ]
            await _bulk(collection, operations)

    async def replace_activity(self, activity: str, delta: Delta, upto: int) -> None:
        """Set one activity's documents to a full recount (refresh after erasure/retention)."""
        for collection, increments in self._parts(delta):
            await collection.delete_many({"a": activity})
            docs = [
                _expand({**delta.identity[doc_id], "_id": doc_id, "upto": upto}, inc)
                for doc_id, inc in increments.items()
            ]
            if docs:
                await collection.insert_many(docs, ordered=False)

    async def clear(self) -> None:
        for collection in (self.days, self.learners):
            await collection.delete_many({})

    def _parts(self, delta: Delta) -> list[tuple[AsyncCollection[Document], dict[str, Any]]]:
        return [(self.days, delta.days), (self.learners, delta.learners)]

    # -- queries ----------------------------------------------------------------------------

    async def day_documents(
        self, activity: str, since: str, until: str, limit: int = 0
    ) -> list[Document]:
        """The activity's day documents with `since <= day < until`."""
        # `a` and a range of `d` on their index: an `_id` range makes SecantusDB scan
        match = {"a": activity, "d": {"$gte": since, "$lt": until}}
        cursor = self.days.find(match, {"d": 1, "c": 1, "s": 1}).sort("d", 1).limit(limit)
        return [doc async for doc in cursor]

    async def learner_verbs(self, activity: str) -> list[Document]:
        """(verb, learner) of every learner with a counted statement of the activity."""
        match = {"a": activity, "n": {"$gt": 0}}
        return [doc async for doc in self.learners.find(match, {"v": 1, "l": 1})]

    async def learner_day_verbs(self, activity: str, since: str, until: str) -> list[Document]:
        """(day, verb, learner) of every learner counted on a day of the window."""
        match = {"a": activity, "d": {"$gte": since, "$lt": until}}
        return [
            {"d": doc["d"], "v": value_of(verb), "l": value_of(learner)}
            async for doc in self.days.find(match, {"d": 1, "l": 1})
            for verb, learners in doc.get("l", {}).items()
            for learner, n in learners.items()
            if n > 0
        ]

    async def of_learner(self, learner: str, after: str | None, limit: int) -> list[Document]:
        match: Document = {"l": learner}
        if after is not None:
            match["a"] = {"$gt": after}
        cursor = self.learners.find(match, {"a": 1, "v": 1, "n": 1}).sort("a", 1).limit(limit)
        return [doc async for doc in cursor]

    async def all_documents(self) -> dict[str, dict[str, Document]]:
        """Every rollup document by collection (for `lrs analytics verify`)."""
        found: dict[str, dict[str, Document]] = {}
        for collection in (self.days, self.learners):
            found[collection.name] = {d["_id"]: d async for d in collection.find({})}
        return found


def expected_documents(delta: Delta) -> dict[str, dict[str, Document]]:
    """The documents a full recount produces, in the form `all_documents` returns."""
    parts = ((DAYS, delta.days), (LEARNERS, delta.learners))
    return {
        name: {doc_id: _expand(dict(delta.identity[doc_id]), inc) for doc_id, inc in part.items()}
        for name, part in parts
    }


def _expand(doc: Document, increments: dict[str, float]) -> Document:
    """Dotted increments as the nested document they produce."""
    for path, value in increments.items():
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


async def _bulk(collection: AsyncCollection[Document], operations: Iterable[UpdateOne]) -> None:
    """A document already past the range makes its upsert a duplicate key: applied before."""
    operations = list(operations)
    if not operations:
        return
    try:
        await collection.bulk_write(operations, ordered=False)
    except BulkWriteError as error:
        others = [e for e in error.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
        if others:
            raise
