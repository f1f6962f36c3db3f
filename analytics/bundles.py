"""An activity's days and weeks kept in one document per month (pure).

    analytics_periods   {_id: bundle_id, a, k: "dy", d: month's first day, upto,
                         y: {"01": {c, s, m, u, p, t}, ..., "31": {...}}}
                        {_id: bundle_id, a, k: "wk", d: month's first day, upto,
                         w: {"03": {...}, ...}}     (the weeks whose Monday is in the month)
                        and the month documents themselves (`k`: "m"), unbundled

A day or a week holds what its own document held (`analytics.rollups`), under the day of
the month it starts on. Why: on the embedded database every command and every document
read has a fixed cost (about 0.5 ms a command and 0.05 ms a document, measured) that
dwarfs the few hundred bytes of a quiet day, so a 31-day series page read 31 documents
and a window with ragged edges about twenty, in two commands. Bundled, a day page reads
one or two documents, a 26-week page seven, and any window its edge months' days and its
whole months, all in one command: every calendar document of an activity lives in one
collection.

The price: a bundle is a month of days, so an activity whose month holds many learners on
many days has a larger document (about 60 bytes per learner, verb and active day; 16 MB,
the document limit, is some 250,000 of them in one month). The month documents, which a
monthly series and every whole month of a window read, stay as small as they were.

`Delta` keeps its increments per day, week and month document (`contribution`); this
module turns them into per-bundle increments, and bundles back into the day and week
documents they hold, so every query reads documents of the shape it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analytics.contribution import day_id, period_id
from analytics.periods import DAY, KINDS, MONTH, WEEK, period_start

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
    return bundle_id(activity, kind, period_start(start, MONTH)), f"{FIELD[kind]}.{start[8:]}"


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
        identities[target_id] = {
            "a": held["a"],
            "k": DAYS if interval == DAY else WEEKS,
            "d": period_start(held["d"], MONTH),
        }
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
        activity, month = doc["a"], str(doc["d"])
        extra = {"k": KINDS[WEEK]} if interval == WEEK else {}
        for day, fields in sorted(doc.get(FIELD[kind], {}).items()):
            start = month[:8] + day
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
