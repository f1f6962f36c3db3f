"""The statements forwarding reads (`forwarders.source.StatementSource`), from the
statements collection this package owns.

Only here does forwarding meet the stored layout: the `seq` key and its millisecond bits,
the `keys` (`*` for every statement, `v:<verb>` per verb) of the `(keys, seq)` index, the
`raw` JSON, the canonical verb and the voiding fields. Ranges, one verb's or several
verbs' (discovery polls the newest range of the verbs forwarders want), are read through
`sequence_scan`, the one slice-by-slice scan, on the `(keys, seq)` index: ingest pays
nothing for forwarding but these reads.

Statements are read whole, with no projection: forwarding keeps most of each document
(`raw`, `keys`), and on SecantusDB a projection deep-copies what it keeps, which cost more
database CPU per statement than the few fields it left out (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.source import Slice, StoredStatement
from lrs.storage.sequence import first_seq_of_ms, ms_of
from lrs.storage.sequence_scan import scan
from lrs.storage.statement_keys import ALL, FILTER_PREFIXES

VERB = FILTER_PREFIXES["verbs"]


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


class MongoStatementSource:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.statements = db["statements"]

    def position_of(self, ms: int) -> int:
        return first_seq_of_ms(ms)

    def ms_of(self, position: int) -> int:
        return ms_of(position)

    async def slices(
        self, after: int, through: int, verbs: Collection[str], *, page: int = 500
    ) -> AsyncIterator[Slice]:
        wanted = [VERB + verb for verb in sorted(verbs)]
        if not wanted:
            return
        async for found in scan(self.statements, wanted, after, through, page=page):
            yield Slice([record(doc) for doc in found.docs], found.through)

    async def scan(
        self, after: int, through: int, *, verb: str | None = None, page: int = 500
    ) -> AsyncIterator[list[StoredStatement]]:
        key = ALL if verb is None else VERB + verb
        async for found in scan(self.statements, key, after, through, page=page):
            if found.docs:
                yield [record(doc) for doc in found.docs]

    async def get(self, ids: Sequence[str]) -> dict[str, StoredStatement]:
        return {i: found for i, found in (await self.stored(ids)).items() if not found.voided}

    async def stored(self, ids: Sequence[str]) -> dict[str, StoredStatement]:
        cursor = self.statements.find({"_id": {"$in": list(ids)}})
        return {doc["_id"]: record(doc) async for doc in cursor}
