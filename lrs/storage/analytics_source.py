"""The statement store's side of `analytics.source.StatementSource`: reads of the
`statements` collection's layout stay in `lrs/storage`, its owner's package.

Statements are read whole: a projection keeping `raw` and the voiding fields cost
SecantusDB more per statement than shipping `keys` too (docs/operations.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence, Set
from pathlib import Path
from typing import Any

import orjson
from pymongo.asynchronous.database import AsyncDatabase

from analytics.source import SourceStatement
from lrs.settings import Settings, SettingsError
from lrs.storage import statement_keys as keys
from lrs.storage.cleanup import LOOKUP_BATCH, batches
from lrs.storage.sequence import MS_SHIFT
from lrs.storage.sequence_scan import FIRST_SPAN, NARROWEST, scan
from statements.errors import BadRequest
from statements.vocabulary import Vocabulary, parse_vocabulary

OBJECT = keys.FILTER_PREFIXES["activities"]


class MongoAnalyticsSource:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.statements = db["statements"]
        self.span = FIRST_SPAN
        """The width of `seq` that held the last full slice: where the next call starts."""

    async def slice(self, low: int, high: int, limit: int) -> list[SourceStatement]:
        """Through the one sequence scan: a consumer that trails reads about a page per
        call, not the whole backlog up to the horizon (which the embedded database reads
        before it applies a limit). Each call starts as wide as the last full one was, so
        a consumer working through a dense backlog (a rebuild) reads each statement about
        once, not a whole first slice per call."""
        found: list[dict[str, Any]] = []
        parts = scan(self.statements, keys.ALL, low - 1, high - 1, page=limit, first_span=self.span)
        async for part in parts:
            found += part.docs
            if len(found) >= limit:
                break
        if len(found) >= limit:
            self.span = max(NARROWEST, int(found[limit - 1]["seq"]) - (low - 1))
        else:
            self.span = FIRST_SPAN
        return [_source(doc) for doc in found[:limit]]

    async def by_ids(self, ids: Sequence[str]) -> list[SourceStatement]:
        found = []
        for chunk in batches(list(ids), LOOKUP_BATCH):
            found += [_source(d) async for d in self.statements.find({"_id": {"$in": list(chunk)}})]
        return found

    async def first_voiders(self, ids: Sequence[str]) -> dict[str, int]:
        first: dict[str, int] = {}
        for chunk in batches(list(ids), LOOKUP_BATCH):
            match = {"keys": {"$in": [keys.targets(i) for i in chunk]}}
            async for doc in self.statements.find(match, {"seq": 1, "ref": 1, "voiding": 1}):
                target, seq = doc.get("ref"), int(doc["seq"])
                if doc.get("voiding") and target is not None:
                    first[target] = min(seq, first.get(target, seq))
        return first

    async def of_activity(self, activity: str, below: int) -> list[SourceStatement]:
        match = {"keys": OBJECT + activity, "seq": {"$lt": below}}
        found = [_source(doc) async for doc in self.statements.find(match)]
        return [s for s in found if _object_id(s.statement) == activity]

    async def activities_of(self, ids: Sequence[str]) -> list[str]:
        found = await self.by_ids(ids)
        return sorted({a for s in found if (a := _object_id(s.statement)) is not None})


def _object_id(statement: dict[str, Any]) -> str | None:
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity":
        activity = obj.get("id")
        return activity if isinstance(activity, str) else None
    return None


def _source(doc: dict[str, Any]) -> SourceStatement:
    statement = orjson.loads(doc["raw"])
    canon = doc.get("canon") or {}
    verb = canon.get("verb") or statement.get("verb", {}).get("id", "")
    return SourceStatement(
        id=doc["_id"],
        seq=int(doc["seq"]),
        statement=statement,
        verb=verb,
        voids=doc.get("ref") if doc.get("voiding") else None,
        voided=bool(doc.get("voided")),
    )


def horizon(settings: Settings, in_flight: Set[int]) -> int:
    """The seq below which no write can still land, for the rollup consumer: this process's
    oldest write in flight, and `analytics_lag_ms` ago for the other processes' writes."""
    lagging = (time.time_ns() // 1_000_000 - settings.analytics_lag_ms) << MS_SHIFT
    oldest = min(in_flight, default=lagging)
    return min(lagging, oldest)


def vocabulary_file(path: Path | None) -> Vocabulary | None:
    """The operator's vocabulary extension file, checked at start-up."""
    if path is None:
        return None
    try:
        return parse_vocabulary(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError, BadRequest) as error:
        raise SettingsError(f"LRS_ANALYTICS_VOCABULARY_FILE {path}: {error}") from None
