"""An activity's days kept in one document per ISO week, its weeks in one per month (pure).

    analytics_periods   {_id: bundle_id, a, k: "dy", d: the week's Monday, upto,
                         y: {"2026-03-02": {c, s, m, u, p, t}, ..., "2026-03-08": {...}}}
                        {_id: bundle_id, a, k: "wk", d: the month's first day, upto,
                         w: {"2026-03-02": {...}, ...}} (the weeks whose Monday is in it)
                        and the month documents themselves (`k`: "m"), unbundled

A day or a week holds what its own document held (`analytics.rollups`), under its first
day. Why: on the embedded database every command and every document read has a fixed
cost (about 0.5 ms a command and 0.05 ms a document, measured) that dwarfs the few hundred
bytes of a quiet day, so a 31-day series page read 31 documents and a window with ragged
edges about twenty, in two commands. Bundled, a day page reads five or six documents, a
26-week page seven, and any window its whole months and the weeks of days at its edges,
all in one command: every calendar document of an activity lives in one collection.

Why a week of days and not a month: an update costs with the size of its document there
(docs/analytics.md, "Cost": 0.6 ms at 0.5 kB, 2.7 ms at 16 kB), and the consumer updates a
day's bundle once per range that touches it; a week's days stay a few kilobytes where a
busy month's would be tens. The 16 MB document limit is then some 250,000 (learner, verb,
active day) entries in one week (about 60 bytes each), where a month document holds its
learners once per verb. The weeks of a month are about one month document's size.

`Delta` keeps its increments per day, week and month document (`contribution`); this
module turns them into per-bundle increments, and bundles back into the day and week
documents they hold, so every query reads documents of the shape it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analytics.contribution import day_id, period_id
from analytics.periods import DAY, KINDS, MONTH, WEEK, next_period, period_start

DAYS, WEEKS = "dy", "wk"
"""The `k` of a bundle of days and of a bundle of weeks."""
FIELD = {DAYS: "y", WEEKS: "w"}
Document = dict[str, Any]
Increments = dict[str, float]


def bundle_id(activity: str, kind: str, month: str) -> str:
    """Beside the activity's day, week and month ids (`contribution.period_id`)."""
    return day_id(activity, kind + month)


def container(activity: str, interval: str, start: str) -> tuple[str, str]:
    """The id of the document that holds a period, and the key of the period in it
    (empty for a month, which is its own document)."""
    if interval == MONTH:
        return period_id(activity, MONTH, start), ""
    kind = DAYS if interval == DAY else WEEKS
    return bundle_id(activity, kind, bundle_start(kind, start)), f"{FIELD[kind]}.{start}"


def bundle_start(kind: str, day: str) -> str:
    """The first day of the bundle of `kind` that holds the period starting on `day`."""
    return period_start(day, WEEK if kind == DAYS else MONTH)


def bundle_after(kind: str, start: str) -> str:
    """The first day of the bundle of `kind` after the one starting on `start`."""
    return next_period(start, WEEK if kind == DAYS else MONTH)


def bundled(
    increments: Mapping[str, Increments], identity: Mapping[str, Document]
) -> tuple[dict[str, Increments], dict[str, Document]]:
    """Per-document increments (days, weeks, months) as the increments of the documents
    that hold them, with those documents' identities."""
    found: dict[str, Increments] = {}
    identities: dict[str, Document] = {}
    for doc_id, inc in increments.items():
        held = identity[doc_id]
        interval = _interval(held)
        target_id, key = container(held["a"], interval, held["d"])
        target = found.setdefault(target_id, {})
        if not key:
            identities[target_id] = held
            for name, amount in inc.items():
                target[name] = target.get(name, 0) + amount
            continue
        kind = DAYS if interval == DAY else WEEKS
        identities[target_id] = {"a": held["a"], "k": kind, "d": bundle_start(kind, held["d"])}
        for name, amount in inc.items():
            path = f"{key}.{name}"
            target[path] = target.get(path, 0) + amount
    return found, identities


def unbundled(docs: Iterable[Document]) -> list[Document]:
    """The day, week and month documents that `docs` hold (a month as it is), each with its
    own `_id`, `a`, `d` and (weeks and months) `k`."""
    found = []
    for doc in docs:
        kind = doc.get("k")
        if kind not in FIELD:
            found.append(doc)
            continue
        interval = DAY if kind == DAYS else WEEK
        activity = doc["a"]
        extra = {"k": KINDS[WEEK]} if interval == WEEK else {}
        for start, fields in sorted(doc.get(FIELD[kind], {}).items()):
            found.append(
                {
                    **fields,
                    "_id": period_id(activity, interval, start),
                    "a": activity,
                    "d": start,
                    **extra,
                }
            )
    return found


def _interval(identity: Document) -> str:
    kind = identity.get("k")
    if kind is None:
        return DAY
    return WEEK if kind == KINDS[WEEK] else MONTH
