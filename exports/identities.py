"""The `employee_id` column: the HRIS person an actor resolves to, through the forwarders'
identity store (read-only; see docs/identities.md). Never a guess: an actor that matches
nobody, or several people, gets no employee id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forwarders.identity.store import IdentityStore


class HrisEmployeeIds:
    def __init__(self, store: IdentityStore) -> None:
        self.store = store

    async def employee_ids(self, actors: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """One query per page of actors."""
        resolved = await self.store.resolve_many(actors)
        return [r.person.employee_id if r.person is not None else None for r in resolved]
