"""Answers of the aggregate endpoints, computed from rollup documents only (no statement
is read at request time). Pure functions over what `rollups.RollupStore` returns:

- calendar documents (a day, a week or a month of an activity, which together cover a
  window once each: `periods.pieces`): `c` counts per verb, `s.v` score values with their
  counts and `m` attended milliseconds give counts, score statistics and distribution and
  attendance time; `u` (per verb, each learner's count in the period) gives distinct
  learners and rates, `t` (the learners whose first completion falls in the period, with
  its seconds from their first attempt) time to completion, and `p` (attended
  milliseconds per learner) the attendance of a group;
- learner documents (`v` counts per verb) give a learner's activities;
- the totals document gives the all-time summary.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set as AbstractSet
from typing import Any

from analytics.contribution import ATTENDED, value_of
from analytics.totals import seconds_of

Document = dict[str, Any]
BUCKETS = 10
"""Score distribution: ten equal buckets of `result.score.scaled` over [0, 1]."""


def sum_days(days: Sequence[Document]) -> tuple[dict[str, int], dict[str, Any]]:
    """Statement counts per canonical verb and score statistics over day documents (one
    document, a whole period of a series, read straight off its maps)."""
    if len(days) == 1:
        doc = days[0]
        counted = {value_of(verb): int(n) for verb, n in doc.get("c", {}).items() if n > 0}
        scores = doc.get("s", {}).get("v", {})
        return dict(sorted(counted.items())), score_statistics(
            {float(value_of(value)): int(n) for value, n in scores.items() if n > 0}
        )
    return verb_counts(days), score_statistics(scores_of(days))


def verb_counts(days: Iterable[Document]) -> dict[str, int]:
    """Statement counts per canonical verb over calendar documents, in verb order."""
    counts: dict[str, int] = defaultdict(int)
    for doc in days:
        for verb, n in doc.get("c", {}).items():
            counts[value_of(verb)] += int(n)
    return {v: n for v, n in sorted(counts.items()) if n > 0}


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


def learner_sets(docs: Sequence[Document]) -> Mapping[str, AbstractSet[str]]:
    """The learners per canonical verb active in any of the (disjoint) documents.

    One document (a whole period of a series, most of them) gives its learner maps' own
    keys where no learner's count is 0 (no voided one): no set is built, which was most of
    a page's Python (26 weeks of about a dozen verbs)."""
    if len(docs) == 1:
        return {
            value_of(verb): learners.keys() if min(learners.values()) > 0 else _counted(learners)
            for verb, learners in docs[0].get("u", {}).items()
            if learners
        }
    found: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        for verb, learners in doc.get("u", {}).items():
            if learners and min(learners.values()) > 0:  # the usual case: no voided learner
                found[value_of(verb)].update(learners)  # (C loops, not a Python one per name)
            else:
                found[value_of(verb)].update([who for who, n in learners.items() if n > 0])
    return found


def _counted(learners: Mapping[str, float]) -> set[str]:
    return {who for who, n in learners.items() if n > 0}


def distinct(sets: Mapping[str, AbstractSet[str]]) -> dict[str, int]:
    return {verb: len(who) for verb, who in sorted(sets.items()) if who}


def rates(sets: Mapping[str, AbstractSet[str]]) -> dict[str, float | None]:
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


def completion_seconds(docs: Iterable[Document]) -> dict[str, float]:
    """Each learner whose first completion falls in the documents' periods: the seconds from
    their first `attempted` to it (learner names as stored: escaped)."""
    found = {}
    for doc in docs:
        for learner, seconds in doc.get("t", {}).items():
            for value, n in seconds.items():
                if n > 0:
                    found[learner] = float(value_of(value))
    return found


def completion_time(docs: Iterable[Document]) -> dict[str, Any]:
    """Seconds from a learner's first `attempted` to their first `completed` (when it is not
    earlier), over the learners whose first completion falls in the window: median, p90 and
    mean."""
    return duration_statistics(list(completion_seconds(docs).values()))


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


def attended_ms(docs: Iterable[Document]) -> dict[str, float]:
    """Attended milliseconds per learner (escaped name) over the documents."""
    found: dict[str, float] = defaultdict(float)
    for doc in docs:
        for learner, ms in doc.get("p", {}).items():
            found[learner] += ms
    return found


def learner_figures(
    sets: Mapping[str, AbstractSet[str]], seconds: Mapping[str, float], minutes_ms: float
) -> Document:
    """The learner figures of a summary or of a group: distinct learners, rates, time to
    completion and attendance."""
    return {
        "learners": distinct(sets),
        "rates": rates(sets),
        "completion_time": duration_statistics(list(seconds.values())),
        "attendance": {
            "minutes": round(float(minutes_ms) / 60_000, 3),
            "learners": len(sets.get(ATTENDED, ())),
        },
    }


def window_summary(docs: Sequence[Document]) -> Document:
    """The summary over a window from the documents that cover it (their scores gathered
    once, for the statistics and the distribution)."""
    scores = scores_of(docs)
    figures = learner_figures(
        learner_sets(docs), completion_seconds(docs), sum(doc.get("m", 0) for doc in docs)
    )
    return {
        "counts": verb_counts(docs),
        "learners": figures["learners"],
        "score": score_statistics(scores),
        "score_distribution": score_distribution(scores),
        "rates": figures["rates"],
        "completion_time": figures["completion_time"],
        "attendance": figures["attendance"],
    }


def groups(
    docs: Sequence[Document],
    value_of_learner: Mapping[str, str | None],
    sets: Mapping[str, AbstractSet[str]],
) -> list[Document]:
    """The learner figures per HRIS value (learners keyed by their escaped names). `sets`:
    the documents' `learner_sets`, which the caller made first to know whom to resolve
    (made again here, they were a third of this function's time)."""
    members: dict[str | None, set[str]] = defaultdict(set)  # one pass each, not one per value
    for who, value in value_of_learner.items():
        members[value].add(who)
    seconds: dict[str | None, dict[str, float]] = defaultdict(dict)
    for who, n in completion_seconds(docs).items():
        if who in value_of_learner:
            seconds[value_of_learner[who]][who] = n
    minutes: dict[str | None, float] = defaultdict(float)
    for who, ms in attended_ms(docs).items():
        if who in value_of_learner:
            minutes[value_of_learner[who]] += ms
    found = []
    for value in sorted(members, key=lambda v: (v is None, v or "")):
        mine = members[value]
        found.append(
            {
                "value": value,
                **learner_figures(
                    {verb: who & mine for verb, who in sets.items()},
                    seconds.get(value, {}),
                    minutes.get(value, 0.0),
                ),
            }
        )
    return found


def series(by_period: Mapping[str, Sequence[Document]], interval: str) -> list[Document]:
    """One point per period that has statements, in order (each period's documents cover
    it, or the part of it inside the window, once)."""
    points = []
    for start in sorted(by_period):
        docs = by_period[start]
        counts, score = sum_days(docs)
        if counts or score["count"]:
            sets = learner_sets(docs)
            points.append(
                {
                    "start": start,
                    "counts": counts,
                    "learners": distinct(sets),
                    "rates": rates(sets),
                    "score": score,
                    "attendance_minutes": attended_minutes(docs),
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
