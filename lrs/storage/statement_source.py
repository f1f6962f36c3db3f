"""The statements forwarding reads (`forwarders.source.StatementSource`), from the
statements collection this package owns.

Only here does forwarding meet the stored layout: the `seq` key and its millisecond bits,
the `keys` (`*` for every statement, `v:<verb>` per verb) of the `(keys, seq)` index, the
`raw` JSON and the voiding fields. Ranges are read through `sequence_scan`, the one
slice-by-slice scan; new statements come from a change stream on inserts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase

from forwarders.source import StoredStatement
from lrs.storage.sequence import first_seq_of_ms, ms_of
from lrs.storage.sequence_scan import scan
from lrs.storage.statement_keys import ALL, FILTER_PREFIXES

PROJECTION = {
    "_id": 1,
    "seq": 1,
    "raw": 1,
    "ref": 1,
    "voiding": 1,
    "voided": 1,
    "keys": 1,
    "canon.verb": 1,
}
VERB = FILTER_PREFIXES["verbs"]
INSERTS: list[dict[str, Any]] = [
    {"$match": {"operationType": "insert"}},
    {"$project": {f"fullDocument.{name}": 1 for name in PROJECTION}},
]
AWAIT_MS = 200


def record(doc: Mapping[str, Any]) -> StoredStatement:
    """The forwarding view of one stored statement document."""
    seq = int(doc["seq"])
    return StoredStatement(
        id=str(doc["_id"]),
        position=seq,
        stored_ms=ms_of(seq),
        verbs=frozenset(k[len(VERB) :] for k in doc.get("keys", ()) if k.startswith(VERB)),
        raw=doc["raw"],
        voided=bool(doc.get("voided")),
        voids=doc.get("ref") if doc.get("voiding") else None,
        canonical=(doc.get("canon") or {}).get("verb"),
    )


class MongoStatementStream:
    """Inserts into `statements`, in commit order, from a change stream."""

    def __init__(self, stream: AsyncChangeStream[dict[str, Any]]) -> None:
        self.stream = stream

    @property
    def resume_token(self) -> Mapping[str, Any] | None:
        return self.stream.resume_token

    async def next_batch(self, limit: int) -> list[StoredStatement]:
        """The next insert (waiting up to the stream's await time) and those buffered behind
        it: a burst of inserts becomes one batch instead of one per statement."""
        first = await self.stream.try_next()
        if first is None:
            return []
        changes = [first]
        while len(changes) < limit and self._buffered():
            change = await self.stream.try_next()
            if change is None:
                break
            changes.append(change)
        return [record(change["fullDocument"]) for change in changes]

    def _buffered(self) -> int:
        """Changes the driver already holds (no round trip to read them). PyMongo has no
        public accessor; without one this is 0 and changes come one at a time."""
        data = getattr(getattr(self.stream, "_cursor", None), "_data", None)
        return len(data) if data is not None else 0

    async def close(self) -> None:
        await self.stream.close()


class MongoStatementSource:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.statements = db["statements"]

    def position_of(self, ms: int) -> int:
        return first_seq_of_ms(ms)

    def ms_of(self, position: int) -> int:
        return ms_of(position)

    async def watch(self, resume_after: Mapping[str, Any] | None) -> MongoStatementStream:
        stream = await self.statements.watch(
            INSERTS, resume_after=resume_after, max_await_time_ms=AWAIT_MS
        )
        return MongoStatementStream(stream)

    async def scan(
        self, after: int, through: int, *, verb: str | None = None, page: int = 500
    ) -> AsyncIterator[list[StoredStatement]]:
        key = ALL if verb is None else VERB + verb
        async for found in scan(self.statements, key, after, through, PROJECTION, page=page):
            if found.docs:
                yield [record(doc) for doc in found.docs]

    async def get(self, ids: Sequence[str]) -> dict[str, StoredStatement]:
        cursor = self.statements.find({"_id": {"$in": list(ids)}}, PROJECTION)
        return {doc["_id"]: record(doc) async for doc in cursor if not doc.get("voided")}
