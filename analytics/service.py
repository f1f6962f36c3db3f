"""The analytics service the API and the CLI call: rollups, their consumer, the vocabulary.

Answers come from the rollup collections only; each says how far the rollups have got
(`cursor`, the stored sequence position every statement below which is counted)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from analytics import queries
from analytics.consumer import Consumer, Progress
from analytics.contribution import ATTENDED, STORE
from analytics.pacing import FLAT_OUT, Pacing
from analytics.params import FIRST_DAY
from analytics.queries import next_period, period_start
from analytics.rollups import RollupStore
from analytics.source import StatementSource
from analytics.vocabulary_store import VocabularyRegistry
from statements.vocabulary import Vocabulary

PERIODS_PER_PAGE = {"day": 31, "week": 26, "month": 12}
MAX_LEARNERS = 100_000
"""Learner documents one answer reads at most (`complete` is false past it): an answer's
cost stays bounded by the activity's audience, never by the store's size."""
Document = dict[str, Any]


class People(Protocol):
    """The HRIS rows learners resolve to (implemented over the identity import in `lrs`)."""

    columns: tuple[str, ...]
    """The attributes a slice may group by."""

    async def attribute(self, actors: Sequence[Document], column: str) -> list[str | None]:
        """Each actor's person's `column` (None: no person, or no value)."""
        ...


class NoPeople:
    columns: tuple[str, ...] = ()

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
            db, source, self.rollups, horizon, batch=batch, busy=busy, pacing=pacing
        )
        self.vocabulary = VocabularyRegistry(db, file_vocabulary)
        self.source = source

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

    # -- answers ----------------------------------------------------------------------------

    async def summary(self, activity: str, since: str, until: str, bounded: bool) -> Document:
        if not bounded:  # all time: one document, whatever the activity's audience
            totals = await self.rollups.totals_of(activity)
            return {"activity": activity, **queries.totals_summary(totals), "complete": True}
        days = await self.rollups.day_documents(activity, since, until)
        counts, score = queries.sum_days(days)
        learners = await self._learners(activity, (_verbs(bounded), "f"))
        sets = queries.learner_sets(learners, since, until, bounded)
        return {
            "activity": activity,
            "counts": counts,
            "learners": queries.distinct(sets),
            "score": score,
            "score_distribution": queries.score_distribution(queries.scores_of(days)),
            "rates": queries.rates(sets),
            "completion_time": queries.completion_time(learners, since, until, bounded),
            "attendance": {
                "minutes": queries.attended_minutes(days),
                "learners": len(sets.get(ATTENDED, ())),
            },
            "complete": len(learners) < MAX_LEARNERS,
        }

    async def groups(
        self, activity: str, column: str, since: str, until: str, bounded: bool
    ) -> Document:
        """The summary's learner figures per value of an HRIS column (learners resolved to
        people through the identity import; those who resolve to none group under null)."""
        learners = await self._learners(activity, (_verbs(bounded), "f", "m", "who"))
        values = await self.people.attribute([doc.get("who", {}) for doc in learners], column)
        grouped: dict[str | None, list[Document]] = defaultdict(list)
        for doc, value in zip(learners, values, strict=True):
            grouped[value].append(doc)
        return {
            "activity": activity,
            "group_by": column,
            "groups": [
                self._group(value, grouped[value], since, until, bounded)
                for value in sorted(grouped, key=lambda v: (v is None, v or ""))
            ],
            "complete": len(learners) < MAX_LEARNERS,
        }

    @staticmethod
    def _group(
        value: str | None, learners: list[Document], since: str, until: str, bounded: bool
    ) -> Document:
        sets = queries.learner_sets(learners, since, until, bounded)
        return {
            "value": value,
            "learners": queries.distinct(sets),
            "rates": queries.rates(sets),
            "completion_time": queries.completion_time(learners, since, until, bounded),
            "attendance": {
                "minutes": queries.learner_minutes(learners, since, until),
                "learners": len(sets.get(ATTENDED, ())),
            },
        }

    async def _learners(self, activity: str, fields: tuple[str, ...]) -> list[Document]:
        return await self.rollups.learners_of(activity, fields, MAX_LEARNERS)

    async def timeseries(
        self, activity: str, interval: str, since: str, until: str, cursor: str | None
    ) -> Document:
        start = cursor or since
        if start == FIRST_DAY:
            first = await self.rollups.day_documents(activity, since, until, limit=1)
            start = min((d["d"] for d in first), default=until)
        start = period_start(start, interval) if start < until else until
        end = start
        for _ in range(PERIODS_PER_PAGE[interval]):
            if end >= until:
                break
            end = next_period(end, interval)
        low, high = max(start, since), min(end, until)
        days = await self.rollups.day_documents(activity, low, high)
        learners = await self._learners(activity, ("d",)) if days else []
        more = end if end < until and await self._any_after(activity, end, until) else None
        points = queries.series(days, learners, interval, high)
        return {"activity": activity, "interval": interval, "points": points, "cursor": more}

    async def _any_after(self, activity: str, day: str, until: str) -> bool:
        return bool(await self.rollups.day_documents(activity, day, until, limit=1))

    async def top_activities(self, limit: int) -> list[tuple[str, int]]:
        """The activities with the most counted statements, all time, from their totals."""
        return await self.rollups.top_activities(limit)

    async def counts_per_day(self, activity: str, since: str, until: str) -> dict[str, Document]:
        """Counted statements per UTC day and canonical verb in `[since, until)`: the day
        documents alone (a time series without its learner figures, which cost far more)."""
        days = await self.rollups.day_documents(activity, since, until)
        return {doc["d"]: queries.sum_days([doc])[0] for doc in days}

    async def store_counts_per_day(self, since: str, until: str) -> dict[str, Document]:
        """`counts_per_day` over every activity: the store-wide day documents, one per day."""
        return await self.counts_per_day(STORE, since, until)

    async def learner(self, learner: str, cursor: str | None, limit: int) -> Document:
        docs = await self.rollups.of_learner(learner, cursor, limit + 1)
        activities = queries.learner_activities(docs[:limit])
        more = len(docs) > limit
        return {
            "learner": learner,
            "activities": activities,
            "cursor": docs[limit - 1]["a"] if more else None,
        }


def _verbs(bounded: bool) -> str:
    """The learner documents' field that answers "which verbs": per day in a window (`d`),
    else the all-time counts (`v`), which are far smaller."""
    return "d" if bounded else "v"
