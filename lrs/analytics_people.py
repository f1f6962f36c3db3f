"""`analytics.service.People` over the identity import: the HRIS attributes the aggregates
may be sliced by, for the actors stored in the learner rollups.

Resolution is the identity store's rule (`IdentityStore.resolve_with`): an actor resolves to
one person or to none (no match, or several people), never to a guess. It runs against a
table of the whole import (each identifier key with its holder) read in one query and kept
`CACHE_SECONDS`: a slice of a course with thousands of learners then resolves them in
memory, where a query per slice (a `$in` of every learner's keys) cost seconds on the
embedded database the first time a process met them. HRIS rows change daily; a change shows
in the slices within `CACHE_SECONDS`. A table three quarters that old is read again in the
background while the slices go on with it, so while slices are asked for steadily no
request waits for the read but the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from pymongo.errors import PyMongoError

from forwarders.identity.person import Person
from forwarders.identity.store import IdentityStore

COLUMNS = {
    "department": "department",
    "manager": "manager_id",
    "job_code": "job_code",
    "status": "status",
}
"""Group-by name -> the person's field (every attribute the identity import carries)."""
CACHE_SECONDS = 60.0
AHEAD = 0.75
"""Past this share of `CACHE_SECONDS`, the table is read again in the background."""


class IdentityPeople:
    columns: tuple[str, ...] = tuple(COLUMNS)

    def __init__(self, store: IdentityStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._holders: Mapping[str, Person] | None = None
        self._read_at = 0.0
        self._generation = 0
        """How many times the table was read (`analytics.service.People.generation`)."""
        self._people: dict[bytes, Person | None] = {}
        """Each actor met, resolved against the current table (dropped with it)."""
        self._reading: asyncio.Task[None] | None = None
        self._first = asyncio.Lock()

    async def attribute(self, actors: Sequence[dict[str, Any]], column: str) -> list[str | None]:
        field = COLUMNS[column]
        people = await self._resolved(actors)
        return [None if person is None else getattr(person, field) for person in people]

    async def generation(self) -> int:
        await self._table()
        return self._generation

    async def _resolved(self, actors: Sequence[dict[str, Any]]) -> list[Person | None]:
        holders = await self._table()
        found = []
        for actor in actors:
            key = orjson.dumps(actor, option=orjson.OPT_SORT_KEYS)
            if key not in self._people:
                self._people[key] = self.store.resolve_with(holders, actor).person
            found.append(self._people[key])
        return found

    async def _table(self) -> Mapping[str, Person]:
        age = self.clock() - self._read_at
        if self._holders is None or age > CACHE_SECONDS:
            async with self._first:  # the slices that find no table wait for one read
                if self._holders is None or self.clock() - self._read_at > CACHE_SECONDS:
                    return await self._read()
                return self._holders
        if age > AHEAD * CACHE_SECONDS and self._reading is None:
            self._reading = asyncio.create_task(self._read_again())
        return self._holders

    async def _read(self) -> Mapping[str, Person]:
        read_at = self.clock()
        holders = await self.store.holders()
        self._holders, self._read_at, self._people = holders, read_at, {}
        self._generation += 1
        return holders

    async def _read_again(self) -> None:
        try:
            with contextlib.suppress(PyMongoError):
                await self._read()
        finally:
            self._reading = None

    async def settled(self) -> None:
        """Wait for a background read under way (tests)."""
        if self._reading is not None:
            await asyncio.shield(self._reading)
