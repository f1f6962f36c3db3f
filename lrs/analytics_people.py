"""`analytics.service.People` over the identity import: the HRIS attributes the aggregates
may be sliced by, for the actors stored in the learner rollups.

Resolution is the identity store's (`IdentityStore.resolve_many`): an actor resolves to one
person or to none (no match, or several people), never to a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from forwarders.identity.store import IdentityStore

COLUMNS = {
    "department": "department",
    "manager": "manager_id",
    "job_code": "job_code",
    "status": "status",
}
"""Group-by name -> the person's field (every attribute the identity import carries)."""
CHUNK = 1000


class IdentityPeople:
    columns: tuple[str, ...] = tuple(COLUMNS)

    def __init__(self, store: IdentityStore) -> None:
        self.store = store

    async def attribute(self, actors: Sequence[dict[str, Any]], column: str) -> list[str | None]:
        field = COLUMNS[column]
        values: list[str | None] = []
        for start in range(0, len(actors), CHUNK):
            for resolution in await self.store.resolve_many(actors[start : start + CHUNK]):
                person = resolution.person
                values.append(None if person is None else getattr(person, field))
        return values
