"""The analytics service the API and the CLI call: rollups, their consumer, the vocabulary.

Answers come from the rollup collections only; each says how far the rollups have got
(`cursor`, the stored sequence position every statement below which is counted)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from analytics import queries
from analytics.consumer import Consumer, Progress
from analytics.params import FIRST_DAY
from analytics.queries import next_period, period_start
from analytics.rollups import RollupStore
from analytics.source import StatementSource
from analytics.vocabulary_store import VocabularyRegistry
from statements.vocabulary import Vocabulary

PERIODS_PER_PAGE = {"day": 31, "week": 26, "month": 12}
LEARNER_PAGE_DOCUMENTS = 1000
Document = dict[str, Any]


class Analytics:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        source: StatementSource,
        horizon: Callable[[], int],
        *,
        file_vocabulary: Vocabulary | None = None,
        batch: int = 500,
    ) -> None:
        self.rollups = RollupStore(db)
        self.consumer = Consumer(db, source, self.rollups, horizon, batch=batch)
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
        days = await self.rollups.day_documents(activity, since, until)
        counts, score = queries.sum_days(days)
        if bounded:
            pairs = await self.rollups.learner_day_verbs(activity, since, until)
        else:
            pairs = await self.rollups.learner_verbs(activity)
        learners = queries.distinct_learners(pairs)
        return {"activity": activity, "counts": counts, "learners": learners, "score": score}

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
        pairs = await self.rollups.learner_day_verbs(activity, low, high)
        more = end if end < until and await self._any_after(activity, end, until) else None
        points = queries.series(days, pairs, interval)
        return {"activity": activity, "interval": interval, "points": points, "cursor": more}

    async def _any_after(self, activity: str, day: str, until: str) -> bool:
        return bool(await self.rollups.day_documents(activity, day, until, limit=1))

    async def learner(self, learner: str, cursor: str | None, limit: int) -> Document:
        docs = await self.rollups.of_learner(learner, cursor, LEARNER_PAGE_DOCUMENTS)
        activities = queries.learner_activities(docs)
        full = len(docs) == LEARNER_PAGE_DOCUMENTS
        if full and len(activities) > 1:
            activities = activities[:-1]  # the last activity may continue on the next page
        more = len(activities) > limit or full
        activities = activities[:limit]
        return {
            "learner": learner,
            "activities": activities,
            "cursor": activities[-1]["activity"] if more and activities else None,
        }
