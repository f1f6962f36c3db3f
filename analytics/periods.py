"""Calendar periods of the rollups (pure): UTC days, ISO weeks (from Monday) and months.

A statement counts in its day, its week and its month, each a document of the same shape
(`analytics.rollups`). A window `[since, until)` is then covered by whole months and whole
weeks where they fit and single days at its edges (`pieces`), so an answer reads at most
about two dozen documents plus one per month, however long the window: not one per day.
"""

from __future__ import annotations

from datetime import date, timedelta

from analytics.params import PAST_LAST_DAY

DAY, WEEK, MONTH = "day", "week", "month"
KINDS = {WEEK: "w", MONTH: "m"}
"""The `k` of a period document (a day document has none: it lives in its own collection)."""


def period_start(day: str, interval: str) -> str:
    moment = date.fromisoformat(day)
    if interval == WEEK:
        moment -= timedelta(days=moment.weekday())
    elif interval == MONTH:
        moment = moment.replace(day=1)
    return moment.isoformat()


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


def pieces(since: str, until: str, *, weeks: bool = True) -> list[tuple[str, str]]:
    """Whole months, whole weeks (unless not `weeks`) and days that cover `[since, until)`
    exactly, once each.

    Greedy from `since`: a month when one starts here and fits; else a week when one
    starts here, fits, and does not cross into a month that would fit whole; else a day."""
    found: list[tuple[str, str]] = []
    current = since
    while current < until:
        found.append((kind := _largest(current, until, weeks), current))
        current = next_period(current, kind)
    return found


def _largest(current: str, until: str, weeks: bool) -> str:
    if period_start(current, MONTH) == current and next_period(current, MONTH) <= until:
        return MONTH
    if not weeks:
        return DAY
    if period_start(current, WEEK) == current and (week_end := next_period(current, WEEK)) <= until:
        month = next_period(current, MONTH)
        if not (current < month < week_end and next_period(month, MONTH) <= until):
            return WEEK
    return DAY
