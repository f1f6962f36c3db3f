"""The overview's figures, each from a counter kept for it or a bounded, indexed read.

- statements per day, completions, passes and fails per day, and the top activities: from
  the analytics rollups when they are on (`LRS_ANALYTICS_ROLLUPS`): the store-wide day
  documents (14 small documents, whatever the store's size) and the activities' totals
  (the `count` index). They count what the rollups count: statements about an activity, on
  the UTC day of their `timestamp`, voided ones excluded; they trail ingest by the
  consumer's lag (a second or two).
- the same without the rollups, or for a credential that reads only its own statements
  (the rollups are store-wide): from the newest `SAMPLE` statements, read through the
  statement store's own query (bounded windows of the stored sequence, never a scan), and
  the page says when the sample does not hold the whole period.
- forwarding: `forwarders.stats.queue_counts` (equality counts on an index prefix, as the
  `/metrics` gauges use), this process's delivery outcomes from `lrs.metrics`, and delivery
  success over 24 hours and 7 days from every worker's hourly tally
  (`forwarders.delivery.tally`: at most 8 days x forwarders small documents).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from forwarders.delivery import tally
from forwarders.stats import QueueCounts, queue_counts
from lrs.console.chart import Bar
from lrs.services import Services
from lrs.storage.sequence import ms_of, stored_string
from statements.types import StatementQuery

SAMPLE = 1000
DAYS = 14
TOP = 10
DELIVERY_SAMPLES = "lrs_forwarding_delivery_duration_seconds_count"
OUTCOMES = ("delivered", "retrylater", "endpointgone", "dead")
RESULT_VERBS = ("completed", "passed", "failed")
SUCCESS_PERIODS = (("24 hours", timedelta(hours=24)), ("7 days", timedelta(days=7)))


@dataclass(frozen=True, slots=True)
class StatementFigures:
    per_day: list[Bar]
    top_activities: list[tuple[str, int]]
    sampled: int
    """How many statements the figures were drawn from (at most SAMPLE; 0 from the rollups)."""
    complete: bool
    """True when the sample holds every statement of the period (always, from the rollups)."""
    from_rollups: bool = False
    through: str | None = None
    """From the rollups: every statement stored before this instant is counted."""


@dataclass(frozen=True, slots=True)
class ForwarderHealth:
    id: str
    name: str
    paused: bool
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class OutcomeDay:
    day: str
    counts: dict[str, int]
    """Statements per canonical verb of RESULT_VERBS."""


async def rollup_figures(
    services: Services, today: date | None = None
) -> tuple[StatementFigures, list[OutcomeDay]]:
    """Statements, completions, passes and fails per day of the last DAYS days, and the top
    activities, from the rollups alone (no statement is read)."""
    first, end = _period(today)
    per_day = await services.analytics.store_counts_per_day(first.isoformat(), end.isoformat())
    days = [(first + timedelta(days=i)).isoformat() for i in range(DAYS)]
    bars = [Bar(day[5:], sum(per_day.get(day, {}).values())) for day in days]
    outcomes = [
        OutcomeDay(day, {v: per_day.get(day, {}).get(v, 0) for v in RESULT_VERBS}) for day in days
    ]
    top = await services.analytics.top_activities(TOP)
    progress = await services.analytics.consumer.progress()
    through = stored_string(ms_of(progress.cursor))
    return StatementFigures(bars, top, 0, True, from_rollups=True, through=through), outcomes


def _period(today: date | None) -> tuple[date, date]:
    """The first day of the last DAYS days, and the day after today."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=DAYS - 1), today + timedelta(days=1)


async def statement_figures(
    services: Services, authority_key: str | None, today: date | None = None
) -> StatementFigures:
    """The figures from the newest SAMPLE statements (rollups off, or own statements only)."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    query = StatementQuery(since=since, limit=SAMPLE)
    page = await services.statements.find_statements(query, authority_key=authority_key)
    days: Counter[date] = Counter()
    activities: Counter[str] = Counter()
    for stored in page.statements:
        days[datetime.fromtimestamp(ms_of(stored.seq) / 1000, tz=UTC).date()] += 1
        target = _activity_of(orjson.loads(stored.raw))
        if target is not None:
            activities[target] += 1
    per_day = [
        Bar((first + timedelta(days=i)).strftime("%m-%d"), days[first + timedelta(days=i)])
        for i in range(DAYS)
    ]
    complete = page.more_after is None
    return StatementFigures(per_day, activities.most_common(TOP), len(page.statements), complete)


def _activity_of(statement: dict[str, Any]) -> str | None:
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") != "Activity":
        return None
    return str(target["id"]) if "id" in target else None


async def forwarding_figures(services: Services) -> tuple[QueueCounts, list[ForwarderHealth]]:
    db = services.client[services.settings.database]
    counts = await queue_counts(db, datetime.now(UTC))
    health = []
    for view in await services.forwarders.list_forwarders():
        f = view.forwarder
        mine = {state: n for (fid, state), n in counts.by_state.items() if fid == f.id}
        health.append(ForwarderHealth(f.id, f.name, f.paused, mine))
    return counts, health


def delivery_outcomes(services: Services) -> dict[str, int]:
    """Delivery attempts by outcome made by this process's worker since it started."""
    registry = services.metrics.registry
    return {
        outcome: int(registry.get_sample_value(DELIVERY_SAMPLES, {"outcome": outcome}) or 0)
        for outcome in OUTCOMES
    }


async def delivery_success(services: Services) -> list[tuple[str, tally.Success]]:
    """Every worker's delivery attempts over the last 24 hours and 7 days, and the share
    delivered (each worker adds its counts at its heartbeat, every few seconds)."""
    db = services.client[services.settings.database]
    figures = await tally.success(db, datetime.now(UTC), (p for _, p in SUCCESS_PERIODS))
    return [(label, figures[period]) for label, period in SUCCESS_PERIODS]
