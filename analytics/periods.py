"""Calendar periods of the rollups (pure): UTC days, ISO weeks (from Monday) and months.

A statement counts in its day, its week and its month, each with figures of the same shape
(`analytics.rollups`). A window `[since, until)` is then covered by whole months where
they fit and single days at its edges (`pieces`), so an
answer reads its months and the weeks of days at its edges (`analytics.bundles`), however
long the window: not one document per day.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from analytics.params import PAST_LAST_DAY

DAY, WEEK, MONTH = "day", "week", "month"
KINDS = {WEEK: "w", MONTH: "m"}
"""The `k` of a period document (a day document has none: it lives in its own collection)."""
CACHED = 16_384
"""Days and periods whose arithmetic is kept: every activity's answers and ranges ask about
the same few hundred dates, and parsing them was 7 % of the LRS's time for a ragged
window (py-spy)."""


@functools.lru_cache(maxsize=CACHED)
def period_start(day: str, interval: str) -> str:
    moment = date.fromisoformat(day)
    if interval == WEEK:
        moment -= timedelta(days=moment.weekday())
    elif interval == MONTH:
        moment = moment.replace(day=1)
    return moment.isoformat()


@functools.lru_cache(maxsize=CACHED)
def next_period(start: str, interval: str) -> str:
    """The next period's first day; past the calendar's last day, `PAST_LAST_DAY` (after
    every day, so a page ends there instead of failing on year 10000)."""
    moment = date.fromisoformat(start)
    try:
        if interval == DAY:
            return (moment + timedelta(days=1)).isoformat()
        if interval == WEEK:
            return (moment + timedelta(days=7)).isoformat()
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return date(year, month, 1).isoformat()
    except (OverflowError, ValueError):
        return PAST_LAST_DAY


def periods_of(day: str) -> list[tuple[str, str]]:
    """The (interval, start) of the three periods a day counts in."""
    return [(DAY, day), (WEEK, period_start(day, WEEK)), (MONTH, period_start(day, MONTH))]


def pieces(since: str, until: str) -> list[tuple[str, str]]:
    """Whole months and days that cover `[since, until)` exactly, once each: a month when
    one starts here and fits, else a day. (Whole weeks are not pieces: the days at a
    window's edges come with the weeks that hold them, `analytics.bundles`, in the read
    that takes its months.)"""
    return list(_pieces(since, until))


@functools.lru_cache(maxsize=1024)
def _pieces(since: str, until: str) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    current = since
    while current < until:
        whole = period_start(current, MONTH) == current and next_period(current, MONTH) <= until
        found.append((kind := MONTH if whole else DAY, current))
        current = next_period(current, kind)
    return tuple(found)
