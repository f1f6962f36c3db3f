"""A learner's activities in a fixed number of bucket documents (pure).

    analytics_learners  {_id: bucket_id, l, b, who, upto,
                         x: {activity: {v: {verb: n}, f: {attempted: ms, completed: ms}}}}

Each learner has at most `BUCKETS` documents; an activity goes to the bucket its name
hashes to, so a learner's page reads `BUCKETS` documents whatever the number of activities
(one document per (activity, learner) made it one document per activity: 3.6 ms for 124
of them against 1.1 ms for 16 buckets), while a range still updates one document per
(learner, bucket) it touches: no more updates than before, each on a document of about
1 kB instead of 0.3 kB (docs/analytics.md, "Cost"). The page finds them by `l` on a
scalar index (`learner`), which costs each bucket update an index entry rewritten.

A refresh (erasure, retention) finds an activity's entries across learners' buckets from
the learners its month documents name (`u`: every learner with a statement of the activity
counted, even one since voided, until the refresh rewrites them), not from an index: a
multikey index of each bucket's activities was measured to more than double the cost of
every bucket update (SecantusDB re-indexes the array on each update: 2.3 -> 5.5 ms per
update under load, side by side). `who` is the actor's
identifier of the statement that created the bucket (a learner key always stands for the
same person, so any of its statements' identifiers resolves alike).

`Delta` keeps its increments per (activity, learner) (`contribution.learner_id`); this
module turns them into per-bucket updates and documents, and bucket documents back into
per-(activity, learner) entries for the totals' transitions (`analytics.totals`).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from analytics.contribution import Delta, field_name, value_of

BUCKETS = 16
Document = dict[str, Any]


def bucket_of(activity: str) -> int:
    """The activity's bucket, stable across processes and versions (not Python's `hash`)."""
    return zlib.crc32(activity.encode()) % BUCKETS


def bucket_id(learner: str, activity: str) -> str:
    """Length-prefixed: a learner key may hold `|`."""
    return f"{len(learner)}:{learner}|{bucket_of(activity):02d}"


def grouped(delta: Delta) -> dict[str, dict[str, str]]:
    """The delta's (activity, learner) ids per bucket id: {bucket: {activity: lid}}, those
    whose increments cancel out (a statement voided in its own range) left out."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    changed = {lid for lid, inc in delta.learners.items() if any(inc.values())}
    for lid in changed | {lid for lid, firsts in delta.firsts.items() if firsts}:
        identity = delta.identity[lid]
        found[bucket_id(identity["l"], identity["a"])][identity["a"]] = lid
    return found


def increments(delta: Delta, entries: Mapping[str, str]) -> tuple[Document, Document]:
    """A bucket's `$inc` and `$min` for its entries (activity -> lid), as dotted paths."""
    inc: Document = {}
    first: Document = {}
    for activity, lid in entries.items():
        prefix = f"x.{field_name(activity)}"
        for name, amount in delta.learners.get(lid, {}).items():
            if amount:
                inc[f"{prefix}.{name}"] = amount
        for verb, ms in delta.firsts.get(lid, {}).items():
            first[f"{prefix}.f.{verb}"] = ms
    return inc, first


def identity(delta: Delta, bucket: str, entries: Mapping[str, str]) -> Document:
    """The fields a bucket is created with (the learner, its bucket, an identifier)."""
    lid = entries[min(entries)]
    learner = delta.identity[lid]["l"]
    who: Document = delta.identity[lid].get("who") or {}
    return {"l": learner, "b": int(bucket.rsplit("|", 1)[1]), "who": who}


def update(delta: Delta, bucket: str, entries: Mapping[str, str], upto: int) -> Document:
    """The guarded upsert's update of one bucket for a range."""
    inc, first = increments(delta, entries)
    change: Document = {
        "$set": {"upto": upto},
        "$setOnInsert": identity(delta, bucket, entries),
    }
    if inc:
        change["$inc"] = inc
    if first:
        change["$min"] = first
    return change


def document(delta: Delta, bucket: str, entries: Mapping[str, str]) -> Document:
    """The bucket as a range (or a recount) that creates it makes it, without `_id`/`upto`."""
    x: Document = {}
    for activity, lid in entries.items():
        x[field_name(activity)] = entry(delta, lid)
    return {**identity(delta, bucket, entries), "x": x}


def entry(delta: Delta, lid: str) -> Document:
    """One (activity, learner)'s counts per verb and first times, nested."""
    found: Document = {}
    for name, amount in delta.learners.get(lid, {}).items():
        if amount:
            found.setdefault("v", {})[name.removeprefix("v.")] = amount
    if firsts := delta.firsts.get(lid):
        found["f"] = dict(firsts)
    return found


def entries_of(doc: Document) -> Iterable[tuple[str, Document]]:
    """A bucket document's (activity, entry) pairs, the activity unescaped."""
    for name, found in doc.get("x", {}).items():
        yield value_of(name), found
