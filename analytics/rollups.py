"""The rollup collections; this module is the only one that reads or writes them.

    analytics_periods   an activity's month: {_id: period_id, a, k: "m", d: its first day,
                         upto, c: {verb: n}, s: {n, v: {score: n}}, m: attended ms,
                         u: {verb: {learner: n}}, p: {learner: ms},
                         t: {learner: {seconds: n}}}
                        and the same fields per UTC day and per ISO week, held by one
                        document per ISO week (`k` "dy": its days) and one per month
                        (`k` "wk": the weeks whose Monday is in it; `analytics.bundles`)
    analytics_days      {_id: day_id, a: STORE, d, upto, c: {verb: n}}: the store-wide
                        days, `c` summed over every activity (the console's overview)
    analytics_learners  {_id: bucket_id, l, b, who, upto,
                         x: {activity: {v: {verb: n}, f: {attempted: ms, completed: ms}}}}
                        (all time, a learner's activities in 16 buckets: `analytics.buckets`)
    analytics_totals    {_id: activity, a, upto, ...}   (all time; see `analytics.totals`)
    analytics_figures   {_id: the period document's, a, k, d, upto, f: {start: point}}
                        (each calendar document's series points: `analytics.figures`)
    analytics_refigure  {_id, ids: [period_id]} or {_id, a: activity}: calendar
                        documents whose figures are to be made again (`refigure`)

A statement touches its activity's totals (what the all-time summary reads: a handful of
fields instead of every other document), its activity's day, week and month (the bundle
of its week's days, the bundle of weeks its week's Monday falls in, its month document)
and its learner's bucket of that activity. A calendar document (a month, or a day or a
week within its bundle) holds what a window needs: counts, scores and attendance, each
learner's count per verb (`u`: distinct learners and rates by the union over the window's
documents), attended time per learner (`p`) and the learners whose first completion
falls in it with their time to completion (`t`). A window reads its whole months and the
weeks of days at its edges, in one command. Learners are kept by name,
with a count, so voiding takes them out by the same `$inc` that put them in: no read
before a write, no transition to track. The learner's buckets serve the per-learner
endpoint, first times (`f`) and the actor's identifier (`who`, for the slices by HRIS
attribute).

Every document carries `upto`: the end of the last sequence range applied to it. A range
`[from, to)` is applied to a document only while `upto < to` (the filter of a conditional
upsert), so applying the same range twice, after a crash or by a second consumer, changes
nothing the second time. Verb IRIs, learners and scores become field names escaped (see
`contribution.field_name`); user data is never an operator.

A read that wants most of a document takes all of it, with no projection: SecantusDB
deep-copies in Python every value a projection keeps (an exclusion copies the whole
document), so a projection that keeps the learner maps costs more than shipping the few
fields it would leave out (docs/operations.md). A projection is kept only where it leaves
the bulk (`u`, `x`) out.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from analytics import buckets, bundles, chunks, figures
from analytics.contribution import STORE, Delta, day_id, field_name, period_id, value_of
from analytics.periods import KINDS, MONTH
from analytics.totals import Increments, recounted_totals, totals_increments

DAYS = "analytics_days"
PERIODS = "analytics_periods"
LEARNERS = "analytics_learners"
TOTALS = "analytics_totals"
FIGURES = "analytics_figures"
MARKS = "analytics_refigure"
REFIGURE = 500
"""Calendar documents whose figures a consumer step makes (`RollupStore.refigure`): half a
second to a second of the embedded database's time when they all exist (an update each)."""
REFIGURE_MARKS = 50
"""Marks taken together at most, and at most `MARKED` ids or `ACTIVITIES` activities."""
MARKED = 50_000
ACTIVITIES = 10
DUPLICATE_KEY = 11000
LOOKUP = 100
"""Ids per `$in` read: on SecantusDB the cost per value grows with the list (docs/operations.md),
so 2,000 learner documents read in lists of 1,000 cost several times lists of 100."""
KNOWN = 300_000
"""Rollup document ids this process has seen stored, to skip inserting them again (about
100 bytes each); past this many the memory starts over (a skipped insert is only a saving)."""
Document = dict[str, Any]


class RollupStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.days = db[DAYS]
        self.periods = db[PERIODS]
        self.learners = db[LEARNERS]
        self.totals = db[TOTALS]
        self.figures = db[FIGURES]
        self.marks = db[MARKS]
        self._known: set[str] = set()
        """Ids of documents known to exist: a range's insert attempt skips them (each would
        be a duplicate key costing a failed insert before its update)."""

    async def ensure_indexes(self) -> None:
        await self.days.create_indexes(
            [
                IndexModel([("a", ASCENDING), ("d", ASCENDING)], name="activity_day"),
                IndexModel([("d", ASCENDING)], name="day"),  # a recount sums one day's activities
            ]
        )
        await self.periods.create_indexes(
            [
                IndexModel([("a", ASCENDING), ("k", ASCENDING), ("d", ASCENDING)], name="period"),
                # a recount sums one week's bundles of days over every activity
                IndexModel([("k", ASCENDING), ("d", ASCENDING)], name="kind_month"),
            ]
        )
        await self.totals.create_indexes([IndexModel([("n", DESCENDING)], name="count")])
        await self.figures.create_indexes(
            [IndexModel([("a", ASCENDING), ("k", ASCENDING), ("d", ASCENDING)], name="period")]
        )
        # a learner's page: its buckets by `l`, each checked against one value (by `_id`
        # in a list of 16, SecantusDB checked each against every id in the list)
        await self.learners.create_indexes([IndexModel([("l", ASCENDING)], name="learner")])
        # earlier layouts' (a multikey index of a bucket's activities costs every update
        # far more than this scalar one: analytics.buckets)
        for old in ("activity_verb", "activity", "learner_activity", "activities"):
            with contextlib.suppress(OperationFailure):
                await self.learners.drop_index(old)

    # -- commands ---------------------------------------------------------------------------

    async def totals_for(self, delta: Delta, upto: int) -> tuple[dict[str, Increments], set[str]]:
        """A range's totals increments per activity, from its learner documents as they are
        before the range (each (activity, learner)'s entry of its bucket, with the bucket's
        `upto`), and the activities whose totals need a recount instead."""
        wanted = buckets.grouped(delta)
        ids = list(wanted)
        before: dict[str, Document] = {}
        for start in range(0, len(ids), LOOKUP):
            chunk = {"_id": {"$in": ids[start : start + LOOKUP]}}
            async for doc in self.learners.find(chunk):
                mine = wanted[doc["_id"]]
                for activity, found in buckets.entries_of(doc):
                    if activity in mine:
                        before[mine[activity]] = {**found, "upto": doc.get("upto", -1)}
        return totals_increments(delta, before, upto)

    async def apply(
        self, delta: Delta, upto: int, totals: dict[str, Increments] | None = None
    ) -> None:
        """Add a range's increments to each document not yet past `upto`.

        The totals go first, computed from the learner documents before any of them takes
        the range (`totals_for`): a redo after a crash finds the totals past `upto` and
        leaves them alone.

        Insert first, update the rest: a document the range creates is inserted whole
        (on the embedded database an insert costs about a fifth of an update); one that
        exists makes the insert a duplicate key and gets the guarded update instead. Both
        are exact on a redo: the insert of a document already there fails, and the update
        of a document already past `upto` matches nothing. A document this process has
        seen stored goes straight to the update (an upsert: were it deleted since, by a
        refresh or a rebuild, the update creates it, with the same fields)."""
        if totals is None:
            totals, _ = await self.totals_for(delta, upto)
        await _bulk(
            self.totals,
            [
                UpdateOne(
                    {"_id": activity, "upto": {"$lt": upto}},
                    {"$set": {"upto": upto}, "$setOnInsert": {"a": activity}, "$inc": inc}
                    if inc
                    else {"$set": {"upto": upto}, "$setOnInsert": {"a": activity}},
                    upsert=True,
                )
                for activity, inc in totals.items()
            ],
        )
        calendar, held = calendar_increments(delta)
        await self.mark(calendar, upto)
        for collection, increments, identity in (
            (self.periods, calendar, held),
            (self.days, delta.store, delta.identity),
        ):
            changes = {
                doc_id: changed
                for doc_id, inc in increments.items()
                if (changed := {k: v for k, v in inc.items() if v})
            }
            fresh = {d: inc for d, inc in changes.items() if d not in self._known}
            existing = [d for d in changes if d in self._known]
            existing += await _insert_new(collection, identity, fresh, upto)
            self._remember(changes)
            operations = [
                UpdateOne(
                    {"_id": doc_id, "upto": {"$lt": upto}},
                    _update(identity[doc_id], changes[doc_id], upto),
                    upsert=True,
                )
                for doc_id in existing
            ]
            await _bulk(collection, operations)
        await self._apply_buckets(delta, upto)

    async def mark(self, ids: Iterable[str], upto: int) -> None:
        """Record that the figures of the calendar documents `ids` are to be made again
        (`refigure`): one insert per range, whatever it touches (an update of a figures
        document costs a calendar document's on the embedded database, so a range that
        wrote them all as it went lowered ingest; docs/analytics.md). A redo of the range
        finds its mark there already."""
        found = sorted(ids)
        if found:
            with contextlib.suppress(DuplicateKeyError):
                await self.marks.insert_one({"_id": f"r{upto}", "ids": found})

    async def mark_every_activity(self) -> None:
        """Mark every calendar document, activity by activity (a store of the layout before
        the figures, which has none)."""
        activities = [doc["_id"] async for doc in self.totals.find({}, {"_id": 1})]
        marks = [{"_id": f"a{activity}", "a": activity} for activity in activities]
        await _insert_documents(self.marks, marks)

    async def refigure(self, limit: int = REFIGURE) -> int:
        """Make the figures of up to `limit` marked calendar documents (and of the marked
        activities') from what they hold now; how many were made (0: none is marked).

        The marks of many ranges are taken together, so a calendar document that each of
        them touched is made once: the ids beyond `limit` are marked again as one, then the
        marks taken are removed (a crash in between only makes the same figures again). A
        figures document is inserted when there is none, else replaced while older than
        its calendar document (`upto`: beside another consumer, never by an older one),
        and deleted when its calendar document is gone."""
        taken: list[Document] = []
        ids: set[str] = set()
        activities: list[str] = []
        async for mark in self.marks.find({}).limit(REFIGURE_MARKS):
            taken.append(mark)
            if "a" in mark:
                activities.append(mark["a"])
            else:
                ids.update(mark.get("ids", ()))
            if len(ids) >= MARKED or len(activities) >= ACTIVITIES:
                break
        if not taken:
            return 0
        ordered = sorted(ids)
        made = 0
        for start in range(0, min(limit, len(ordered)), LOOKUP):
            made += await self._figure(
                {"_id": {"$in": ordered[start : min(start + LOOKUP, limit)]}}
            )
        for activity in activities:
            made += await self._figure({"a": activity})
        if rest := ordered[limit:]:
            await self.marks.insert_one({"_id": f"c{uuid.uuid4().hex}", "ids": rest})
        await self.marks.delete_many({"_id": {"$in": [mark["_id"] for mark in taken]}})
        return max(made, 1)

    async def _figure(self, match: Document) -> int:
        """Write the figures of the calendar documents `match` finds, and delete the figures
        it finds whose calendar document is gone; how many calendar documents were read."""
        docs = [doc async for doc in self.periods.find(match)]
        have = {
            doc["_id"]: doc.get("upto", -1) async for doc in self.figures.find(match, {"upto": 1})
        }
        ids = [doc["_id"] for doc in docs]
        fresh = [figures.figure_document(doc) for doc in docs if doc["_id"] not in have]
        there = set(await _insert_documents(self.figures, fresh))
        await _bulk(
            self.figures,
            [
                _figures_update(doc)
                for doc in docs
                if doc["_id"] in there or have.get(doc["_id"], doc["upto"]) < doc["upto"]
            ],
        )
        if stale := sorted(set(have).difference(ids)):
            await self.figures.delete_many({"_id": {"$in": stale}})
        return len(docs)

    async def _apply_buckets(self, delta: Delta, upto: int) -> None:
        """The range's learner entries, one insert or guarded upsert per bucket it touches."""
        grouped = buckets.grouped(delta)
        fresh = {
            bucket: {**buckets.document(delta, bucket, entries), "_id": bucket, "upto": upto}
            for bucket, entries in grouped.items()
            if bucket not in self._known
        }
        existing = [bucket for bucket in grouped if bucket in self._known]
        existing += await _insert_documents(self.learners, list(fresh.values()))
        self._remember(grouped)
        operations = [
            UpdateOne(
                {"_id": bucket, "upto": {"$lt": upto}},
                buckets.update(delta, bucket, grouped[bucket], upto),
                upsert=True,
            )
            for bucket in existing
        ]
        await _bulk(self.learners, operations)

    def _remember(self, ids: Iterable[str]) -> None:
        if len(self._known) > KNOWN:
            self._known.clear()
        self._known.update(ids)

    async def replace_activity(self, activity: str, delta: Delta, upto: int) -> None:
        """Set one activity's documents to a full recount (refresh after erasure/retention),
        then the store-wide days it had or has to the sum of their activities' days.

        Every step sets documents to a value computed afresh (nothing is added), so a
        refresh redone after a crash at any point ends in the same documents."""
        had = [doc["d"] for doc in await self._bundled_days({"a": activity})]
        await self.totals.delete_many({"_id": activity})
        if totals := recounted_totals(delta).get(activity):
            await self.totals.insert_one(
                _expand({"_id": activity, "a": activity, "upto": upto}, totals)
            )
        await self._replace_entries(activity, delta, upto)
        await self.periods.delete_many({"a": activity})
        calendar, identity = calendar_increments(delta)
        docs = [
            _expand({**identity[doc_id], "_id": doc_id, "upto": upto}, calendar[doc_id])
            for doc_id in calendar
        ]
        if docs:
            await self.periods.insert_many(docs, ordered=False)
        await self.figures.delete_many({"a": activity})
        if docs:
            await self.figures.insert_many(
                [figures.figure_document(d) for d in docs], ordered=False
            )
        has = {delta.identity[doc_id]["d"] for doc_id in delta.days}
        await self._resum_store_days(sorted(set(had) | has), upto)

    async def _replace_entries(self, activity: str, delta: Delta, upto: int) -> None:
        """The activity's entries in every learner's buckets set to the recount's: taken out
        of the buckets of every learner its month documents name (before they are
        rewritten: a redo after a crash here finds the same learners), then set whole (both
        idempotent). A bucket left empty is deleted (one a crash leaves empty holds no
        count: nothing reads it)."""
        name = field_name(activity)
        held = [buckets.bucket_id(learner, activity) for learner in await self._named(activity)]
        for start in range(0, len(held), LOOKUP):
            chunk = {"_id": {"$in": held[start : start + LOOKUP]}}
            await self.learners.update_many(chunk, {"$unset": {f"x.{name}": ""}})
            await self.learners.delete_many({**chunk, "x": {}})
        operations = [
            UpdateOne(
                {"_id": bucket},
                {
                    "$set": {f"x.{name}": buckets.entry(delta, entries[activity])},
                    "$setOnInsert": {**buckets.identity(delta, bucket, entries), "upto": upto},
                },
                upsert=True,
            )
            for bucket, entries in buckets.grouped(delta).items()
            if activity in entries
        ]
        if operations:
            await self.learners.bulk_write(operations, ordered=False)

    async def _named(self, activity: str) -> list[str]:
        """Every learner the activity's month documents name (`u`, zero counts included):
        each learner with an entry for the activity in a bucket."""
        found: set[str] = set()
        async for doc in self.periods.find({"a": activity, "k": KINDS[MONTH]}):
            for learners in doc.get("u", {}).values():
                found.update(learners)
        return sorted(value_of(name) for name in found)

    async def _resum_store_days(self, days: list[str], upto: int) -> None:
        """The store-wide documents of `days` as the sum of every activity's day documents
        (which hold every statement below `upto`: a refresh runs with no range pending)."""
        sums: dict[str, Document] = {day: {} for day in days}
        weeks = sorted({bundles.bundle_start(bundles.DAYS, day) for day in days})
        for doc in await self._bundled_days({"k": bundles.DAYS, "d": {"$in": weeks}}):
            if doc["d"] not in sums:
                continue
            for verb, n in doc.get("c", {}).items():
                sums[doc["d"]][verb] = sums[doc["d"]].get(verb, 0) + n
        await self.days.delete_many({"_id": {"$in": [day_id(STORE, day) for day in days]}})
        docs = [
            {"_id": day_id(STORE, day), "a": STORE, "d": day, "upto": upto, "c": counts}
            for day, counts in sums.items()
            if any(counts.values())
        ]
        if docs:
            await self.days.insert_many(docs, ordered=False)

    async def clear(self) -> None:
        self._known.clear()
        collections = (self.days, self.periods, self.learners, self.totals, self.figures)
        for collection in (*collections, self.marks):
            await collection.delete_many({})

    async def _bundled_days(self, match: Document) -> list[Document]:
        """The day documents that the bundles of days matching `match` hold."""
        found = [doc async for doc in self.periods.find({**match, "k": bundles.DAYS})]
        return bundles.unbundled(found)

    # -- queries ----------------------------------------------------------------------------

    async def store_days(self, since: str, until: str) -> list[Document]:
        """The store-wide day documents with `since <= day < until`, in day order."""
        # `a` and a range of `d` on their index: an `_id` range makes SecantusDB scan
        match = {"a": STORE, "d": {"$gte": since, "$lt": until}}
        cursor = self.days.find(match, {"d": 1, "c": 1}).sort("d", 1)
        return [doc async for doc in cursor]

    async def any_day(self, activity: str, since: str, until: str) -> bool:
        """Whether the activity has a counted statement on a day `since <= day < until`."""
        first = bundles.bundle_start(bundles.DAYS, since)
        match = {"a": activity, "d": {"$gte": first, "$lt": until}}
        return any(
            since <= doc["d"] < until and counted(doc) for doc in await self._bundled_days(match)
        )

    async def first_bundles(self, activity: str, kind: str, limit: int) -> list[Document]:
        """The activity's first `limit` bundles of `kind` (`analytics.bundles`), in order
        (SecantusDB reads every match of a sorted read: the limit saves their transfer)."""
        return await _first(self.periods, activity, kind, limit)

    async def month_documents(
        self, activity: str, since: str | None = None, limit: int = 0
    ) -> list[Document]:
        """The activity's month documents from the month of `since` on (all of them
        without), whole, in order; the first `limit` of them when given (SecantusDB still
        reads every match: the limit saves their transfer)."""
        return await _months(self.periods, activity, since, limit)

    @staticmethod
    def ids(activity: str, pieces: Iterable[tuple[str, str]]) -> list[str]:
        return [period_id(activity, interval, start) for interval, start in pieces]

    async def calendar(self, activity: str, pieces: list[tuple[str, str]]) -> list[Document]:
        """The day, week and month documents of `pieces` ((interval, start) pairs) that
        exist, in one read of the documents that hold them (`analytics.bundles`)."""
        wanted = set(self.ids(activity, pieces))
        return [doc for doc in await self.held(activity, pieces) if doc["_id"] in wanted]

    async def held(
        self, activity: str, pieces: list[tuple[str, str]], also: Iterable[str] = ()
    ) -> list[Document]:
        """Every day, week and month document held by the documents that hold `pieces`,
        and by the bundles `also` (their ids), in one read."""
        return bundles.unbundled(await _holders(self.periods, activity, pieces, also))

    async def figured(
        self, activity: str, pieces: list[tuple[str, str]], also: Iterable[str] = ()
    ) -> list[Document]:
        """`held`, from the figures documents: every period their documents hold, with its
        series point (`analytics.figures.figured`)."""
        return figures.figured(await _holders(self.figures, activity, pieces, also))

    async def first_figures(self, activity: str, kind: str, limit: int) -> list[Document]:
        """`first_bundles` from the figures documents (as stored: `figures.figured` them)."""
        return await _first(self.figures, activity, kind, limit)

    async def month_figures(
        self, activity: str, since: str | None = None, limit: int = 0
    ) -> list[Document]:
        """`month_documents` from the figures documents, in order, as stored."""
        return await _months(self.figures, activity, since, limit)

    async def identifiers(self, activity: str, learners: list[str]) -> dict[str, Document]:
        """The actor identifier of each learner of the activity (its learner document's)."""
        found = {}
        for start in range(0, len(learners), LOOKUP):
            chunk = learners[start : start + LOOKUP]
            ids = [buckets.bucket_id(name, activity) for name in chunk]
            async for doc in self.learners.find({"_id": {"$in": ids}}, {"l": 1, "who": 1}):
                found[doc["l"]] = doc.get("who", {})
        return found

    async def totals_of(self, activity: str) -> Document:
        """The activity's totals document ({} before its first statement)."""
        return await self.totals.find_one({"_id": activity}) or {}

    async def months_of(self, activity: str) -> list[str]:
        """The first days of the activity's months with counted statements, in order: one
        point read of its totals (`mo`), not its month documents."""
        doc = await self.totals.find_one({"_id": activity}, {"mo": 1}) or {}
        return sorted(month for month, n in doc.get("mo", {}).items() if n > 0)

    async def top_activities(self, limit: int) -> list[tuple[str, int]]:
        """The activities with the most counted statements, all time (the `count` index)."""
        cursor = self.totals.find({"n": {"$gt": 0}}, {"n": 1}).sort("n", -1).limit(limit)
        return [(doc["_id"], int(doc["n"])) async for doc in cursor]

    async def of_learner(self, learner: str, after: str | None, limit: int) -> list[Document]:
        """The learner's (activity, counts) entries after `after`, in activity order, at most
        `limit`: its buckets read whole through the `learner` index (16 documents whatever
        the page)."""
        query = {"l": learner}
        found = [
            {"a": activity, "v": entry.get("v", {})}
            async for doc in self.learners.find(query)
            for activity, entry in buckets.entries_of(doc)
            if (after is None or activity > after) and _counted(entry)
        ]
        return sorted(found, key=lambda doc: str(doc["a"]))[:limit]

    async def all_documents(self) -> dict[str, dict[str, Document]]:
        """Every rollup document by collection (for `lrs analytics verify`)."""
        found: dict[str, dict[str, Document]] = {}
        for collection in (self.days, self.periods, self.learners, self.totals, self.figures):
            found[collection.name] = {d["_id"]: d async for d in collection.find({})}
        return found


def expected_documents(delta: Delta) -> dict[str, dict[str, Document]]:
    """The documents a full recount produces, in the form `all_documents` returns."""
    totals = recounted_totals(delta)  # first: it places the first completions
    calendar, identity = calendar_increments(delta)
    expected = {
        PERIODS: {doc_id: _expand(dict(identity[doc_id]), inc) for doc_id, inc in calendar.items()},
        DAYS: {
            doc_id: _expand(dict(delta.identity[doc_id]), inc)
            for doc_id, inc in delta.store.items()
        },
    }
    expected[LEARNERS] = {
        bucket: buckets.document(delta, bucket, entries)
        for bucket, entries in buckets.grouped(delta).items()
    }
    expected[TOTALS] = {activity: _expand({"a": activity}, inc) for activity, inc in totals.items()}
    expected[FIGURES] = {
        doc_id: figures.figure_document(doc) for doc_id, doc in expected[PERIODS].items()
    }
    return expected


async def _holders(
    collection: AsyncCollection[Document],
    activity: str,
    pieces: list[tuple[str, str]],
    also: Iterable[str],
) -> list[Document]:
    """The documents of `collection` that hold `pieces`, and those with the ids `also`."""
    ids = {bundles.container(activity, interval, start)[0] for interval, start in pieces}
    ids.update(also)
    if not ids:
        return []
    # `_id` in a list: SecantusDB checks each document against every id in it (a cost
    # per id), which a page's handful of bundles keeps small
    return [doc async for doc in collection.find({"_id": {"$in": sorted(ids)}})]


async def _first(
    collection: AsyncCollection[Document], activity: str, kind: str, limit: int
) -> list[Document]:
    cursor = collection.find({"a": activity, "k": kind}).sort("d", 1).limit(limit)
    return [doc async for doc in cursor]


async def _months(
    collection: AsyncCollection[Document], activity: str, since: str | None, limit: int
) -> list[Document]:
    match: Document = {"a": activity, "k": KINDS[MONTH]}
    if since is not None:
        match["d"] = {"$gte": since}
    cursor = collection.find(match)
    if limit:
        cursor = cursor.sort("d", 1).limit(limit)
    docs = [doc async for doc in cursor]
    return sorted(docs, key=lambda doc: str(doc["d"]))


def _figures_update(doc: Document) -> UpdateOne:
    found = figures.figure_document(doc)
    return UpdateOne(
        {"_id": doc["_id"], "upto": {"$lt": doc["upto"]}},
        {"$set": {k: v for k, v in found.items() if k != "_id"}},
        upsert=True,
    )


def counted(doc: Document) -> bool:
    """Whether a calendar document holds a counted statement (voiding leaves zeros)."""
    return any(n > 0 for n in doc.get("c", {}).values())


def calendar_increments(delta: Delta) -> tuple[dict[str, Increments], dict[str, Document]]:
    """The increments of the month documents and of the bundles that hold the days and
    weeks (`analytics.bundles`), with their identities (`totals_for` has run: the first
    completions are among them)."""
    days, periods = delta.calendar()
    return bundles.bundled({**days, **periods}, delta.identity)


def _counted(entry: Document) -> bool:
    """Whether a learner's entry holds a counted statement (voiding leaves zeros)."""
    return any(n > 0 for n in entry.get("v", {}).values())


def _update(identity: Document, increments: dict[str, float], upto: int) -> Document:
    update: Document = {"$set": {"upto": upto}, "$setOnInsert": identity}
    if increments:
        update["$inc"] = increments
    return update


def _expand(doc: Document, increments: dict[str, float]) -> Document:
    """Dotted increments as the nested document they produce."""
    for path, value in increments.items():
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


async def _insert_new(
    collection: AsyncCollection[Document],
    identity: dict[str, Document],
    changes: dict[str, dict[str, float]],
    upto: int,
) -> list[str]:
    """Insert the documents that do not exist yet; the ids of those that do."""
    docs = [
        _expand({**identity[doc_id], "_id": doc_id, "upto": upto}, changes[doc_id])
        for doc_id in changes
    ]
    return await _insert_documents(collection, docs)


async def _insert_documents(
    collection: AsyncCollection[Document], docs: list[Document]
) -> list[str]:
    """Insert the documents; the ids of those that exist already (left as they are)."""
    if not docs:
        return []
    try:
        await chunks.insert_many(collection, docs)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return [docs[e["index"]]["_id"] for e in errors]
    return []


async def _bulk(collection: AsyncCollection[Document], operations: Iterable[UpdateOne]) -> None:
    """A document already past the range makes its upsert a duplicate key: applied before."""
    operations = list(operations)
    if not operations:
        return
    try:
        await chunks.bulk_write(collection, operations)
    except BulkWriteError as error:
        others = [e for e in error.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
        if others:
            raise
