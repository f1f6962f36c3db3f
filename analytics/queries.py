"""Answers of the aggregate endpoints, computed from rollup documents only (no statement
is read at request time). Pure functions over what `rollups.RollupStore` returns:

- day documents (`c` counts per verb, `s.v` score values with their counts, `m` attended
  milliseconds) give counts, score statistics and distribution, and attendance time;
- learner documents (`v` counts per verb, `d` days per verb, `f` first times, `m` attended
  milliseconds per day) give distinct learners, rates and time to completion.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from analytics.contribution import ATTENDED, value_of
from analytics.params import PAST_LAST_DAY
from analytics.totals import seconds_of

Document = dict[str, Any]
BUCKETS = 10
"""Score distribution: ten equal buckets of `result.score.scaled` over [0, 1]."""


def sum_days(days: Sequence[Document]) -> tuple[dict[str, int], dict[str, Any]]:
    """Statement counts per canonical verb and score statistics over day documents."""
    counts: dict[str, int] = defaultdict(int)
    for doc in days:
        for verb, n in doc.get("c", {}).items():
            counts[value_of(verb)] += int(n)
    return {v: n for v, n in sorted(counts.items()) if n > 0}, score_statistics(scores_of(days))


def scores_of(days: Iterable[Document]) -> dict[float, int]:
    """Each scaled score over day documents, with how many statements carry it."""
    scores: dict[float, int] = defaultdict(int)
    for doc in days:
        for value, n in doc.get("s", {}).get("v", {}).items():
            scores[float(value_of(value))] += int(n)
    return {v: n for v, n in scores.items() if n > 0}


def score_statistics(scores: dict[float, int]) -> dict[str, Any]:
    present = {v: n for v, n in scores.items() if n > 0}
    count = sum(present.values())
    if not count:
        return {"count": 0, "mean": None, "min": None, "max": None}
    total = sum(v * n for v, n in sorted(present.items()))  # one order, whatever the source
    return {"count": count, "mean": total / count, "min": min(present), "max": max(present)}


def score_distribution(scores: Mapping[float, int]) -> dict[str, Any]:
    """Counts per tenth of the scaled score: bucket i holds [i/10, (i+1)/10), the last one
    also 1.0; scaled scores below 0 (the spec allows -1 to 1) are counted apart."""
    buckets = [0] * BUCKETS
    negative = 0
    for value, n in scores.items():
        if value < 0:
            negative += n
        else:
            buckets[min(BUCKETS - 1, math.floor(value * BUCKETS))] += n
    return {"buckets": buckets, "below_zero": negative}


def attended_minutes(days: Iterable[Document]) -> float:
    return round(float(sum(doc.get("m", 0) for doc in days)) / 60_000, 3)


def learner_sets(
    learners: Iterable[Document], since: str, until: str, bounded: bool
) -> dict[str, set[str]]:
    """The learners per canonical verb: all time (`v`), or on a day of the window (`d`)."""
    found: dict[str, set[str]] = defaultdict(set)
    for doc in learners:
        if bounded:
            for verb, days in doc.get("d", {}).items():
                if any(since <= day < until and n > 0 for day, n in days.items()):
                    found[value_of(verb)].add(doc["l"])
        else:
            for verb, n in doc.get("v", {}).items():
                if n > 0:
                    found[value_of(verb)].add(doc["l"])
    return found


def distinct(sets: Mapping[str, set[str]]) -> dict[str, int]:
    return {verb: len(who) for verb, who in sorted(sets.items()) if who}


def rates(sets: Mapping[str, set[str]]) -> dict[str, float | None]:
    """`completion`: learners who completed / learners who attempted; `pass`: learners who
    passed / learners who passed or failed (a learner who failed then passed counts once).
    None when the denominator is empty."""
    attempted, completed = sets.get("attempted", set()), sets.get("completed", set())
    passed, failed = sets.get("passed", set()), sets.get("failed", set())
    judged = passed | failed
    return {
        "completion": _ratio(len(completed & attempted), len(attempted)),
        "pass": _ratio(len(passed), len(judged)),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def completion_time(
    learners: Iterable[Document], since: str, until: str, bounded: bool
) -> dict[str, Any]:
    """Seconds from a learner's first `attempted` to their first `completed` (when it is not
    earlier), over the learners whose first completion falls in the window: median, p90 and
    mean."""
    seconds = []
    for doc in learners:
        first = doc.get("f", {})
        attempted, completed = first.get("attempted"), first.get("completed")
        if attempted is None or completed is None or completed < attempted:
            continue
        if bounded and not since <= _day_of_ms(completed) < until:
            continue
        seconds.append((completed - attempted) / 1000)
    return duration_statistics(seconds)


def duration_statistics(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"learners": 0, "median_seconds": None, "p90_seconds": None, "mean_seconds": None}
    ordered = sorted(seconds)
    return {
        "learners": len(ordered),
        "median_seconds": _percentile(ordered, 0.5),
        "p90_seconds": _percentile(ordered, 0.9),
        "mean_seconds": round(sum(ordered) / len(ordered), 3),
    }


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least `q` of the values at or below it."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _day_of_ms(ms: int) -> str:
    return (date(1970, 1, 1) + timedelta(milliseconds=ms)).isoformat()


def learner_minutes(learners: Iterable[Document], since: str, until: str) -> float:
    """Attended minutes of learner documents on the days of the window."""
    total = sum(
        ms for doc in learners for day, ms in doc.get("m", {}).items() if since <= day < until
    )
    return round(float(total) / 60_000, 3)


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
    days: Iterable[Document], learners: list[Document], interval: str, until: str
) -> list[Document]:
    """One point per period that has statements, in order."""
    by_period: dict[str, list[Document]] = defaultdict(list)
    for doc in days:
        by_period[period_start(doc["d"], interval)].append(doc)
    points = []
    for start in sorted(by_period):
        counts, score = sum_days(by_period[start])
        if counts or score["count"]:
            end = min(next_period(start, interval), until)
            sets = learner_sets(learners, start, end, bounded=True)
            points.append(
                {
                    "start": start,
                    "counts": counts,
                    "learners": distinct(sets),
                    "rates": rates(sets),
                    "score": score,
                    "attendance_minutes": attended_minutes(by_period[start]),
                }
            )
    return points


def learner_activities(docs: Iterable[Document]) -> list[Document]:
    """A learner's counted statements per activity and verb."""
    found = []
    for doc in docs:
        counts = {value_of(v): int(n) for v, n in sorted(doc.get("v", {}).items()) if n > 0}
        if counts:
            found.append({"activity": doc["a"], "counts": counts})
    return found


def totals_summary(totals: Document) -> Document:
    """The all-time summary's figures from the activity's totals document alone: the same
    answer the day and learner documents give, without reading them."""
    counts = {value_of(v): int(n) for v, n in totals.get("c", {}).items() if n > 0}
    scores = {
        float(value_of(v)): int(n) for v, n in totals.get("s", {}).get("v", {}).items() if n > 0
    }
    learners = {value_of(v): int(n) for v, n in totals.get("l", {}).items() if n > 0}
    pairs = totals.get("r", {})
    seconds = [value for value, n in seconds_of(totals.get("t", {})) for _ in range(n)]
    return {
        "counts": dict(sorted(counts.items())),
        "learners": dict(sorted(learners.items())),
        "score": score_statistics(scores),
        "score_distribution": score_distribution(scores),
        "rates": {
            "completion": _ratio(int(pairs.get("ca", 0)), learners.get("attempted", 0)),
            "pass": _ratio(learners.get("passed", 0), int(pairs.get("j", 0))),
        },
        "completion_time": duration_statistics(seconds),
        "attendance": {
            "minutes": round(float(totals.get("m", 0)) / 60_000, 3),
            "learners": learners.get(ATTENDED, 0),
        },
    }
