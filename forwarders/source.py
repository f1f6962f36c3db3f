"""What forwarding needs from the statement store, declared here and implemented by `lrs`
(`lrs.storage.statement_source`), which owns the statements collection.

Forwarding reads stored statements three ways: it polls the newest ranges of those filed
under the verbs some forwarder wants (`slices`: discovery), walks a range of them in stored
order, all of them or those filed under one verb (`scan`: reconciliation), and reads a few
by id (`get`: re-drive; `stored`: what an erasure left of the statements of events just
written, `forwarders.erased`). It sees
parsed records, never the stored documents: how `lrs` keys, orders and serialises
statements can change without changing forwarding.

Positions are the store's stored order (an opaque increasing integer); `position_of` and
`ms_of` convert between positions and stored milliseconds, so discovery can read up to
"now" and keep its cursor below a horizon.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import orjson

from statements.vocabulary import Vocabulary, default_vocabulary


@dataclass(frozen=True)
class StoredStatement:
    """One stored statement, as forwarding uses it."""

    id: str
    position: int
    """Its place in stored order (increasing; not dense)."""
    stored_ms: int
    """When it was stored, in milliseconds since the epoch."""
    verbs: frozenset[str]
    """The verb ids it is filed under: its own, and that of a statement it references. A
    cheap superset to skip statements no forwarder wants before parsing them."""
    raw: str | bytes
    """The statement as stored (JSON)."""
    voided: bool = False
    voids: str | None = None
    """For a voiding statement: the id of the statement it voids."""
    canonical: str | None = None
    """The canonical verb stored beside it (`statements.vocabulary`: what the vocabulary in
    force when it was stored made of its verb); None for statements stored before there was
    one (forwarding derives it then)."""

    @cached_property
    def statement(self) -> Mapping[str, Any]:
        """The statement, parsed on first use (most statements are never parsed)."""
        parsed: Mapping[str, Any] = orjson.loads(self.raw)
        return parsed


class VocabularySource(Protocol):
    """The vocabulary in force (the packaged one, extended by the operator)."""

    async def refresh(self) -> Vocabulary:
        """The current vocabulary (re-read at most every few seconds)."""
        ...


class FixedVocabulary:
    """One vocabulary for good (tests, and callers without an operator's extension)."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or default_vocabulary()

    async def refresh(self) -> Vocabulary:
        return self.vocabulary


@dataclass(frozen=True, slots=True)
class Slice:
    """One bounded read of a scan: at most a page of statements, in stored order."""

    statements: list[StoredStatement]
    through: int
    """Every statement of the scan with `after < position <= through` was in this slice
    or an earlier one: what a checkpointing reader records."""


class StatementSource(Protocol):
    def position_of(self, ms: int) -> int:
        """The first position of the stored millisecond `ms`."""
        ...

    def ms_of(self, position: int) -> int: ...

    def slices(
        self, after: int, through: int, verbs: Collection[str], *, page: int = 500
    ) -> AsyncIterator[Slice]:
        """The statements with `after < position <= through` filed under any of `verbs`, in
        stored order, slice by slice (empty slices included, so a reader can checkpoint)."""
        ...

    def scan(
        self, after: int, through: int, *, verb: str | None = None, page: int = 500
    ) -> AsyncIterator[list[StoredStatement]]:
        """Pages (at most `page`, never empty) of the statements with `after < position <=
        through`, filed under `verb` when given, in stored order."""
        ...

    async def get(self, ids: Sequence[str]) -> dict[str, StoredStatement]:
        """The statements with these ids that are stored and not voided."""
        ...

    async def stored(self, ids: Sequence[str]) -> dict[str, StoredStatement]:
        """The statements with these ids that are stored, voided or not."""
        ...
