"""The analytics service the API and the CLI call: rollups, their consumer, the vocabulary.

Answers come from the rollup collections only; each says how far the rollups have got
(`cursor`, the stored sequence position every statement below which is counted)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from analytics import bundles, figures, queries
from analytics.consumer import Consumer, Progress
from analytics.contribution import field_name, identifier_of, value_of
from analytics.memo import Memo, Version
from analytics.pacing import FLAT_OUT, Pacing
from analytics.params import FIRST_DAY, PAST_LAST_DAY
from analytics.periods import DAY, MONTH, WEEK, next_period, period_start, pieces
from analytics.rollups import RollupStore, counted
from analytics.source import StatementSource
from analytics.vocabulary_store import VocabularyRegistry
from statements.vocabulary import Vocabulary

PERIODS_PER_PAGE = {"day": 31, "week": 26, "month": 12}
WEEK_BUNDLES_PER_PAGE = 7
"""The most bundles of weeks (those starting in a month) a page of weeks can need."""
MAX_SPAN_DAYS = 400
"""A window up to this long is cut into pieces as given; a longer or open one is first
narrowed to the activity's first and last month (one indexed read of its month
documents), so an open window costs what the activity's life does, not the calendar's."""
THROUGH_SECONDS = 0.25
"""How long a process answers with the version of the rollups (the cursor) it last read. An
older cursor only claims less (every statement before it is counted all the same), and it
saves every answer a read. This process's own consumer makes it read again at once."""
MAX_IDENTIFIERS = 200_000
"""Learners whose actor identifier a process keeps (for the slices by HRIS attribute)."""
Document = dict[str, Any]


class People(Protocol):
    """The HRIS rows learners resolve to (implemented over the identity import in `lrs`)."""

    columns: tuple[str, ...]
    """The attributes a slice may group by."""

    async def generation(self) -> int:
        """The table of people in force, read again first when it has aged: a number that
        changes whenever the rows the attributes come from may have. A slice is kept in
        memory under the generation it was asked in."""
        ...

    async def attribute(self, actors: Sequence[Document], column: str) -> list[str | None]:
        """Each actor's person's `column` (None: no person, or no value)."""
        ...


class NoPeople:
    columns: tuple[str, ...] = ()

    async def generation(self) -> int:
        return 0

    async def attribute(self, actors: Sequence[Document], column: str) -> list[str | None]:
        return [None] * len(actors)


class Analytics:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        source: StatementSource,
        horizon: Callable[[], int],
        *,
        file_vocabulary: Vocabulary | None = None,
        batch: int = 2000,
        busy: Callable[[], bool] = lambda: False,
        pacing: Pacing = FLAT_OUT,
        people: People | None = None,
    ) -> None:
        self.people: People = people or NoPeople()
        self.rollups = RollupStore(db)
        self.consumer = Consumer(
            db,
            source,
            self.rollups,
            horizon,
            batch=batch,
            busy=busy,
            pacing=pacing,
            changed=self._changed,
        )
        self.vocabulary = VocabularyRegistry(db, file_vocabulary)
        self.source = source
        self._who: dict[str, Document] = {}
        self._values_of: dict[str, dict[str, str | None]] = {}
        """Per column, each learner's value (by escaped name) under `_values_generation`."""
        self._values_generation = -1
        self._version: tuple[tuple[int, Version, bool], float] = ((0, "", False), -math.inf)
        """The rollups' version last read, and when (monotonic seconds)."""
        self._reading: asyncio.Future[tuple[int, Version, bool]] | None = None
        """The read of the version on its way, which every request that wants it awaits."""
        self.memo = Memo()
        self.through_seconds = THROUGH_SECONDS

    async def ensure_indexes(self) -> None:
        await self.rollups.ensure_indexes()
        await self.vocabulary.refresh(force=True)

    @contextlib.asynccontextmanager
    async def running(self, enabled: bool) -> AsyncIterator[None]:
        """The consumer as a background task of the API process (every process runs one;
        the lease lets one work at a time)."""
        if not enabled:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(self.consumer.run(stop))
        try:
            yield
        finally:
            stop.set()
            # bounded, and cancelled without waiting: a step stuck on a database that is gone
            # must not hold the shutdown hostage
            done, _ = await asyncio.wait({task}, timeout=5)
            if not done:
                task.cancel()

    async def catch_up(self) -> Progress:
        return await self.consumer.catch_up()

    async def through(self) -> int:
        """The consumer's cursor, read at most every `THROUGH_SECONDS`: every statement
        with a lower sequence position is counted in the rollups."""
        return (await self.version())[0]

    async def version(self) -> tuple[int, Version]:
        """The cursor and the rollups' version (`analytics.memo`), read at most every
        `THROUGH_SECONDS`."""
        return (await self._state())[:2]

    async def _figured(self) -> bool:
        """Whether the figures hold what the calendar documents do (`analytics.figures`).
        An answer from either is the same, so the memo keys neither."""
        return (await self._state())[2]

    async def _state(self) -> tuple[int, Version, bool]:
        """The consumer's state as `Consumer.version` reads it, at most every
        `THROUGH_SECONDS`. The requests that find it aged share one read: at concurrency 16
        each used to send its own, a fifth of a command per answer."""
        state, read_at = self._version
        if time.monotonic() - read_at < self.through_seconds:
            return state
        reading = self._reading
        if reading is None:
            reading = self._reading = asyncio.ensure_future(self._read_state())
        return await asyncio.shield(reading)

    async def _read_state(self) -> tuple[int, Version, bool]:
        began, me = time.monotonic(), asyncio.current_task()
        try:
            state = await self.consumer.version()
            if self._reading is me:  # not a read overtaken by this process's consumer
                self._version = (state, began)
            return state
        finally:
            if self._reading is me:
                self._reading = None

    def _changed(self) -> None:
        """This process's consumer wrote a new version: the next answer reads it (not a
        read already on its way, which may have left before the write)."""
        self._version = (self._version[0], -math.inf)
        self._reading = None

    async def _memoised(self, key: Hashable, answer: Callable[[], Awaitable[Any]]) -> Any:
        """The answer kept for `key` under the rollups' version, or `answer()` (which reads
        the documents after the version was read: `analytics.memo`), kept."""
        _, version = await self.version()
        found = self.memo.get(version, key)
        if found is None:
            found = await answer()
            self.memo.put(version, key, found)
        return found

    # -- answers ----------------------------------------------------------------------------

    async def summary(self, activity: str, since: str, until: str, bounded: bool) -> Document:
        key = ("summary", activity, since, until, bounded)
        found: Document = await self._memoised(
            key, lambda: self._summary(activity, since, until, bounded)
        )
        return found

    async def _summary(self, activity: str, since: str, until: str, bounded: bool) -> Document:
        if not bounded:  # all time: one document, whatever the activity's audience
            totals = await self.rollups.totals_of(activity)
            return {"activity": activity, **queries.totals_summary(totals), "complete": True}
        docs = await self._covering(activity, since, until)
        return {"activity": activity, **queries.window_summary(docs), "complete": True}

    async def groups(self, activity: str, column: str, since: str, until: str) -> Document:
        """The summary's learner figures per value of an HRIS column (learners resolved to
        people through the identity import; those who resolve to none group under null).
        Kept in memory under the rollups' version and the people's generation (an answer
        computed with a newer table than its key's is only asked for by requests that began
        before that table was read)."""
        generation = await self.people.generation()
        key = ("groups", activity, column, since, until, generation)
        found: Document = await self._memoised(
            key, lambda: self._groups(activity, column, since, until, generation)
        )
        return found

    async def _groups(
        self, activity: str, column: str, since: str, until: str, generation: int
    ) -> Document:
        docs = await self._covering(activity, since, until)
        sets = queries.learner_sets(docs)
        learners = list(set().union(*sets.values()))
        values = await self._values(activity, learners, column, generation)
        return {
            "activity": activity,
            "group_by": column,
            "groups": queries.groups(docs, values, sets),
            "complete": True,
        }

    async def _values(
        self, activity: str, learners: list[str], column: str, generation: int
    ) -> Mapping[str, str | None]:
        """Each learner's value of `column` (by escaped name), kept per learner for as long
        as the people's generation stands: a learner key always stands for the same actor,
        so only the table can change what it resolves to. A slice of a course then costs a
        lookup per learner met before in the generation, not an identifier and a
        resolution (about a millisecond for 500 learners). A request that began under an
        older generation takes the newer values, as a kept slice would."""
        if generation > self._values_generation:
            self._values_of.clear()
            self._values_generation = generation
        known = self._values_of.setdefault(column, {})
        missing = [name for name in learners if name not in known]
        if missing:
            who = await self._identifiers(activity, missing)
            values = await self.people.attribute([who.get(name, {}) for name in missing], column)
            known.update(zip(missing, values, strict=True))
            while len(known) > MAX_IDENTIFIERS:
                known.pop(next(iter(known)))
        return {name: known.get(name) for name in learners}

    async def _covering(self, activity: str, since: str, until: str) -> list[Document]:
        """The day, week and month documents that cover the window's days on which the
        activity has statements, each day once (`periods.pieces`). An open or long window
        is first narrowed to the activity's months with statements (one read of its month
        documents); an all-time one takes its documents from that same read (they are the
        whole months of the activity)."""
        if not (
            since == FIRST_DAY or until == PAST_LAST_DAY or _days(since, until) > MAX_SPAN_DAYS
        ):
            return await self.rollups.calendar(activity, pieces(since, until))
        all_time = since == FIRST_DAY and until == PAST_LAST_DAY
        months: list[Document] = []
        if all_time:
            months = await self.rollups.month_documents(activity)
            firsts = [str(doc["d"]) for doc in months]
        else:
            firsts = await self._months(activity)
        if not firsts:
            return []
        low = max(since, firsts[0])
        high = min(until, next_period(firsts[-1], MONTH))
        wanted = pieces(low, high) if low < high else []
        if all_time:
            return await self._with_months(activity, months, wanted)
        return await self.rollups.calendar(activity, wanted) if wanted else []

    async def _months(self, activity: str) -> list[str]:
        """The activity's months with statements (its totals' `mo`), kept per version: the
        same for every series page and open window of the activity."""
        found: list[str] = await self._memoised(
            ("months", activity), lambda: self.rollups.months_of(activity)
        )
        return found

    async def _with_months(
        self, activity: str, months: list[Document], wanted: list[tuple[str, str]]
    ) -> list[Document]:
        """The documents of `wanted` pieces, its whole months taken from `months` (every
        month document of the activity: a month not among them has no statements)."""
        have = {doc["_id"]: doc for doc in months}
        ids = self.rollups.ids(activity, [p for p in wanted if p[0] == MONTH])
        found = [have[i] for i in ids if i in have]
        rest = [p for p in wanted if p[0] != MONTH]
        return found + (await self.rollups.calendar(activity, rest) if rest else [])

    async def _identifiers(self, activity: str, learners: list[str]) -> dict[str, Document]:
        """Each learner's actor identifier (by escaped name): from the learner key itself
        when it says it (`contribution.identifier_of`), else read once per process from the
        learner document (a learner key always stands for the same identifier)."""
        missing = []
        for name in learners:
            if name not in self._who:
                who = identifier_of(value_of(name))
                if who is None:
                    missing.append(name)
                else:
                    self._remember_who(name, who)
        if missing:
            found = await self.rollups.identifiers(activity, [value_of(n) for n in missing])
            for learner, who in found.items():
                self._remember_who(field_name(learner), who)
        return {name: self._who.get(name, {}) for name in learners}

    def _remember_who(self, name: str, who: Document) -> None:
        self._who[name] = who
        while len(self._who) > MAX_IDENTIFIERS:
            self._who.pop(next(iter(self._who)))

    async def timeseries(
        self, activity: str, interval: str, since: str, until: str, cursor: str | None
    ) -> Document:
        key = ("timeseries", activity, interval, since, until, cursor)
        found: Document = await self._memoised(
            key, lambda: self._timeseries(activity, interval, since, until, cursor)
        )
        return found

    async def _timeseries(
        self, activity: str, interval: str, since: str, until: str, cursor: str | None
    ) -> Document:
        figured = await self._figured()
        if interval == MONTH:
            return await self._monthly(activity, since, until, cursor, figured)
        start = cursor or since
        first: Page | None = None
        if start == FIRST_DAY and interval == WEEK:  # from the first week with statements
            first = await self._first_weeks(activity, figured)
            start = first.start if first else await self._first_month(activity)
        elif start == FIRST_DAY:  # from the first month with statements
            start = await self._first_month(activity)
        start = period_start(start, interval) if start < until else until
        periods, end = _page(start, since, until, interval)
        wanted = [p for part in periods.values() for p in part]
        # with the bundle the page ends in and the next one: the statements after the page
        # are mostly there, and decide its cursor in the same read
        kind = bundles.DAYS if interval == DAY else bundles.WEEKS
        following = until
        known = until  # the day before which every period is in the read
        if end < until:
            following = bundles.bundle_after(kind, bundles.bundle_start(kind, end))
            known = bundles.bundle_after(kind, following)
        after = [(interval, day) for day in (end, following) if day < until]
        if first is not None and first.covers([*wanted, *after]):
            docs = first.docs
            known = max(known, first.known)
        else:
            also = [bundles.container(activity, interval, day)[0] for _, day in after]
            docs = await self._read(activity, interval, periods, also, figured)
        by_id = {doc["_id"]: doc for doc in docs}
        by_period = {
            period: [by_id[i] for i in self.rollups.ids(activity, part) if i in by_id]
            for period, part in periods.items()
        }
        if end >= until:
            more = False
        elif any(end <= doc["d"] < until and counted(doc) for doc in docs):
            more = True
        elif until <= known:  # every later period was in the read
            more = False
        else:
            more = await self._any_in(activity, await self._months(activity), end, until)
        points = figures.series(by_period, interval)
        return {
            "activity": activity,
            "interval": interval,
            "points": points,
            "cursor": end if more else None,
        }

    async def _read(
        self,
        activity: str,
        interval: str,
        periods: Mapping[str, list[tuple[str, str]]],
        also: list[str],
        figured: bool,
    ) -> list[Document]:
        """The documents of a page's periods and of the bundles `also`: the figures of the
        whole periods, and the calendar documents of the periods the window cuts (only
        their learner maps add up over part of a period); all calendar documents while the
        figures are not there."""
        wanted = [p for part in periods.values() for p in part]
        if not figured:
            return await self.rollups.held(activity, wanted, also)
        whole = [part[0] for start, part in periods.items() if part == [(interval, start)]]
        cut = [p for start, part in periods.items() if part != [(interval, start)] for p in part]
        docs = await self.rollups.figured(activity, whole, also)
        return docs + (await self.rollups.calendar(activity, cut) if cut else [])

    async def _first_weeks(self, activity: str, figured: bool) -> Page | None:
        """The activity's first bundles of weeks, enough for a page and its cursor, and the
        first week in them with statements (None when none has). One read, instead of the
        activity's months and then its weeks: SecantusDB reads every match of a sorted
        read, here the activity's bundles of weeks (about one month document each), which
        costs less than a second command for an activity of a few months (this bench's).
        A series of days from its start reads its months first: every bundle of days of
        the activity would be about four times the bytes."""
        limit = WEEK_BUNDLES_PER_PAGE + 2
        if figured:
            found = await self.rollups.first_figures(activity, bundles.WEEKS, limit)
            docs = figures.figured(found)
        else:
            found = await self.rollups.first_bundles(activity, bundles.WEEKS, limit)
            docs = bundles.unbundled(found)
        starts = sorted(doc["d"] for doc in docs if counted(doc))
        if not starts:
            return None
        last = str(found[-1]["d"]) if len(found) == limit else PAST_LAST_DAY
        return Page(starts[0], docs, last)

    async def _first_month(self, activity: str) -> str:
        months = await self._months(activity)
        return months[0] if months else PAST_LAST_DAY

    async def _monthly(
        self, activity: str, since: str, until: str, cursor: str | None, figured: bool
    ) -> Document:
        """A page of months: its month figures (and the next month's, for its cursor) in
        one read, with the days of the months that `since` or `until` cut."""
        start = cursor or since
        lower = None if start == FIRST_DAY else period_start(start, MONTH)
        page = PERIODS_PER_PAGE[MONTH] + 1
        if figured:
            found = await self.rollups.month_figures(activity, lower, page)
            months = [str(doc["d"]) for doc in found]
            month_docs = figures.figured(found)
        else:
            month_docs = await self.rollups.month_documents(activity, lower, page)
            months = [str(doc["d"]) for doc in month_docs]
        if start == FIRST_DAY:  # from the first month with statements
            start = months[0] if months else until
        start = period_start(start, MONTH) if start < until else until
        periods, end = _page(start, since, until, MONTH)
        wanted = [p for part in periods.values() for p in part]
        docs = await self._with_months(activity, month_docs, wanted)
        by_id = {doc["_id"]: doc for doc in docs}
        by_period = {
            period: [by_id[i] for i in self.rollups.ids(activity, part) if i in by_id]
            for period, part in periods.items()
        }
        more = end if await self._any_in(activity, months, end, until) else None
        points = figures.series(by_period, MONTH)
        return {"activity": activity, "interval": MONTH, "points": points, "cursor": more}

    async def _any_in(self, activity: str, months: list[str], since: str, until: str) -> bool:
        """Whether the activity has statements in `[since, until)`: decided by its months
        with statements when one lies wholly inside, or none meets the window; by its day
        documents in the window otherwise (a month at the window's edge)."""
        if since >= until:
            return False
        meeting = [m for m in months if m < until and next_period(m, MONTH) > since]
        if any(since <= m and next_period(m, MONTH) <= until for m in meeting):
            return True
        return bool(meeting) and await self.rollups.any_day(activity, since, until)

    async def top_activities(self, limit: int) -> list[tuple[str, int]]:
        """The activities with the most counted statements, all time, from their totals."""
        return await self.rollups.top_activities(limit)

    async def store_counts_per_day(self, since: str, until: str) -> dict[str, Document]:
        """Counted statements per UTC day and canonical verb in `[since, until)` over every
        activity: the store-wide day documents, one per day."""
        days = await self.rollups.store_days(since, until)
        return {doc["d"]: queries.sum_days([doc])[0] for doc in days}

    async def learner(self, learner: str, cursor: str | None, limit: int) -> Document:
        key = ("learner", learner, cursor, limit)
        found: Document = await self._memoised(key, lambda: self._learner(learner, cursor, limit))
        return found

    async def _learner(self, learner: str, cursor: str | None, limit: int) -> Document:
        docs = await self.rollups.of_learner(learner, cursor, limit + 1)
        activities = queries.learner_activities(docs[:limit])
        more = len(docs) > limit
        return {
            "learner": learner,
            "activities": activities,
            "cursor": docs[limit - 1]["a"] if more else None,
        }


@dataclass(frozen=True)
class Page:
    """The first bundles of an activity's weeks, read for a series from its start."""

    start: str
    """The first week with statements."""
    docs: list[Document]
    """The week documents the bundles hold."""
    last: str
    """The month of the last bundle read: every bundle of the interval up to it was read
    (all of them when `PAST_LAST_DAY`)."""

    @property
    def known(self) -> str:
        """The day before which every period of the interval is in the read."""
        return PAST_LAST_DAY if self.last == PAST_LAST_DAY else next_period(self.last, MONTH)

    def covers(self, pieces: list[tuple[str, str]]) -> bool:
        """Whether the read holds every document of `pieces` that exists."""
        return all(
            interval == WEEK and period_start(start, MONTH) <= self.last
            for interval, start in pieces
        )


def _page(
    start: str, since: str, until: str, interval: str
) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """A page of periods from `start`: each with the pieces that cover its part of the
    window (itself when whole), and where the page ends."""
    periods: dict[str, list[tuple[str, str]]] = {}
    end = start
    for _ in range(PERIODS_PER_PAGE[interval]):
        if end >= until:
            break
        following = next_period(end, interval)
        whole = since <= end and following <= until  # its own document (most periods)
        periods[end] = (
            [(interval, end)] if whole else pieces(max(end, since), min(following, until))
        )
        end = following
    return periods, end


def _days(since: str, until: str) -> int:
    return (date.fromisoformat(until) - date.fromisoformat(since)).days
