"""What the rollups need from the statement store: a small Protocol declared here and
implemented in `lrs.storage.analytics_source` (the lower package declares, `lrs` wires)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SourceStatement:
    id: str
    seq: int
    statement: dict[str, Any]
    verb: str
    """The canonical verb stored beside the statement (the verb IRI for older statements)."""
    voids: str | None
    """The id this statement voids, when it is a voiding statement."""
    voided: bool = False
    """Voided when read (only then can a voiding statement with a lower seq exist)."""


class StatementSource(Protocol):
    async def slice(self, low: int, high: int, limit: int) -> list[SourceStatement]:
        """Statements with `low <= seq < high`, in seq order, at most `limit`."""
        ...

    async def by_ids(self, ids: Sequence[str]) -> list[SourceStatement]: ...

    async def first_voiders(self, ids: Sequence[str]) -> dict[str, int]:
        """For each id some voiding statement targets: the lowest seq among those."""
        ...

    async def of_activity(self, activity: str, below: int) -> list[SourceStatement]:
        """Every statement with `seq < below` whose object is the activity."""
        ...

    async def activities_of(self, ids: Sequence[str]) -> list[str]:
        """The object activities of the given statements (for erasure and retention)."""
        ...
