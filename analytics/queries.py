"""Answers of the aggregate endpoints, computed from rollup documents only (no statement
is read at request time). Pure functions over what `rollups.RollupStore` returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from analytics.contribution import value_of
from analytics.params import PAST_LAST_DAY

Document = dict[str, Any]


def sum_days(days: Iterable[Document]) -> tuple[dict[str, int], dict[str, Any]]:
    """Statement counts per canonical verb and score statistics over day documents."""
    counts: dict[str, int] = defaultdict(int)
    scores: dict[float, int] = defaultdict(int)
    for doc in days:
        for verb, n in doc.get("c", {}).items():
            counts[value_of(verb)] += int(n)
        for value, n in doc.get("s", {}).get("v", {}).items():
            scores[float(value_of(value))] += int(n)
    return {v: n for v, n in sorted(counts.items()) if n > 0}, score_statistics(scores)


def score_statistics(scores: dict[float, int]) -> dict[str, Any]:
    present = {v: n for v, n in scores.items() if n > 0}
    count = sum(present.values())
    if not count:
        return {"count": 0, "mean": None, "min": None, "max": None}
    total = sum(v * n for v, n in present.items())
    return {"count": count, "mean": total / count, "min": min(present), "max": max(present)}


def distinct_learners(pairs: Iterable[Document]) -> dict[str, int]:
    """Distinct learners per verb from (verb, learner) documents."""
    learners: dict[str, set[str]] = defaultdict(set)
    for doc in pairs:
        learners[doc["v"]].add(doc["l"])
    return {verb: len(who) for verb, who in sorted(learners.items())}


def period_start(day: str, interval: str) -> str:
    moment = date.fromisoformat(day)
    if interval == "week":
        moment -= timedelta(days=moment.weekday())
    elif interval == "month":
        moment = moment.replace(day=1)
    return moment.isoformat()


def next_period(start: str, interval: str) -> str:
    """The next period's first day; past the calendar's last day, `PAST_LAST_DAY` (after
    every day, so a page ends there instead of failing on year 10000)."""
    moment = date.fromisoformat(start)
    try:
        if interval == "day":
            return (moment + timedelta(days=1)).isoformat()
        if interval == "week":
            return (moment + timedelta(days=7)).isoformat()
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return date(year, month, 1).isoformat()
    except (OverflowError, ValueError):
        return PAST_LAST_DAY


def series(
    days: Iterable[Document], learner_days: Iterable[Document], interval: str
) -> list[Document]:
    """One point per period that has statements, in order."""
    by_period: dict[str, list[Document]] = defaultdict(list)
    for doc in days:
        by_period[period_start(doc["d"], interval)].append(doc)
    pairs: dict[str, list[Document]] = defaultdict(list)
    for doc in learner_days:
        pairs[period_start(doc["d"], interval)].append(doc)
    points = []
    for start in sorted(by_period):
        counts, score = sum_days(by_period[start])
        if counts or score["count"]:
            learners = distinct_learners(pairs.get(start, ()))
            points.append({"start": start, "counts": counts, "learners": learners, "score": score})
    return points


def learner_activities(docs: Iterable[Document]) -> list[Document]:
    """A learner's counted statements per activity and verb."""
    activities: dict[str, dict[str, int]] = defaultdict(dict)
    for doc in docs:
        if doc.get("n", 0) > 0:
            activities[doc["a"]][doc["v"]] = int(doc["n"])
    return [{"activity": a, "counts": counts} for a, counts in activities.items()]
