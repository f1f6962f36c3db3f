"""Each period's series point, kept beside the calendar documents it comes from (pure).

    analytics_figures   {_id: the id of its document in analytics_periods, a, k, d, upto,
                         f: {<period start>: {c: {verb: n}, l: {verb: learners},
                                              r: {completion, pass},
                                              s: {count, mean, min, max}, m: minutes}}}

A figures document holds, for every period its calendar document holds (the days of a
bundle of days, the weeks of a bundle of weeks, or a month), the point a time series
shows for that period: counts, distinct learners per verb, rates, score statistics and
attendance minutes. Why: a period's learner maps (`u`, `t`, `p`) are most of its
calendar document's bytes (72 % of a bundle of weeks, 82 % of a month at 250,000
statements), and on the embedded database a read costs with the bytes it reads from
storage whatever a projection keeps (measured: a projection that keeps 1 % of a page of
week bundles cost the same 1.7 ms as the whole page). A series of whole periods needs
none of those maps, only their sizes and intersections, so it reads these documents
instead: about a quarter of the bytes, and no set to build per point.

A figures document is a function of its calendar document alone (`figure_document`), with
the same `upto`. The consumer makes it when idle, from the calendar documents the ranges
marked (`rollups.RollupStore.refigure`), replacing only older figures (by `upto`), and a
series reads it only while the state says every figure is made (`consumer.FIGURED`). A
series still reads the calendar documents for a period the window cuts (a week starting
before `since`): only the learner maps can be added up over part of a period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analytics import bundles, queries
from analytics.contribution import field_name, period_id, value_of
from analytics.periods import DAY, KINDS, MONTH, WEEK

Document = dict[str, Any]
FIELD = "f"


def entry(doc: Document) -> Document | None:
    """The point figures of one calendar document (a day, a week or a month), None when it
    has no counted statement (a series shows no point for it)."""
    counts, score = queries.sum_days([doc])
    if not counts and not score["count"]:
        return None
    sets = queries.learner_sets([doc])
    return {
        "c": {field_name(verb): n for verb, n in counts.items()},
        "l": {field_name(verb): n for verb, n in queries.distinct(sets).items()},
        "r": queries.rates(sets),
        "s": score,
        "m": queries.attended_minutes([doc]),
    }


def figure_document(doc: Document) -> Document:
    """The figures document of a calendar document as stored in analytics_periods (a bundle
    of days or weeks, or a month)."""
    found = {}
    for held in bundles.unbundled([doc]):
        figures = entry(held)
        if figures is not None:
            found[str(held["d"])] = figures
    identity: Document = {key: doc[key] for key in ("_id", "a", "k", "d", "upto") if key in doc}
    return {**identity, FIELD: found}


def figured(docs: Iterable[Document]) -> list[Document]:
    """The periods that figures documents hold, one document each: the period's own `_id`
    (`contribution.period_id`), `a`, `d`, its counts as `c` (what `rollups.counted` reads)
    and its figures under `f`."""
    found = []
    for doc in docs:
        interval = _interval(str(doc["k"]))
        activity = doc["a"]
        for start, figures in sorted(doc.get(FIELD, {}).items()):
            found.append(
                {
                    "_id": period_id(activity, interval, start),
                    "a": activity,
                    "d": start,
                    "c": figures.get("c", {}),
                    FIELD: figures,
                }
            )
    return found


def point(start: str, figures: Mapping[str, Any]) -> Document:
    """A series point from a period's figures: what `queries.series` makes of the period's
    calendar document."""
    return {
        "start": start,
        "counts": _unescaped(figures.get("c", {})),
        "learners": _unescaped(figures.get("l", {})),
        "rates": dict(figures["r"]),
        "score": dict(figures["s"]),
        "attendance_minutes": figures.get("m", 0.0),
    }


def _unescaped(counts: Mapping[str, Any]) -> dict[str, int]:
    return dict(sorted((value_of(name), int(n)) for name, n in counts.items()))


def _interval(kind: str) -> str:
    if kind == bundles.DAYS:
        return DAY
    if kind == bundles.WEEKS:
        return WEEK
    if kind == KINDS[MONTH]:
        return MONTH
    raise ValueError(f"not a calendar document kind: {kind!r}")


def series(by_period: Mapping[str, list[Document]], interval: str) -> list[Document]:
    """`queries.series` where a period is one figured document (`figured`): its point as
    kept; a period the window cuts is added up from its calendar documents as before."""
    points = []
    for start in sorted(by_period):
        docs = by_period[start]
        if len(docs) == 1 and FIELD in docs[0]:
            points.append(point(start, docs[0][FIELD]))
        else:
            points += queries.series({start: docs}, interval)
    return points
