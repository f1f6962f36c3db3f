"""`analytics.service.People` over the identity import: the HRIS attributes the aggregates
may be sliced by, for the actors stored in the learner rollups.

Resolution is the identity store's (`IdentityStore.resolve_many`): an actor resolves to one
person or to none (no match, or several people), never to a guess. Resolutions are kept
for a minute (at most `CACHE_SIZE` actors): a slice of a course with thousands of learners
would otherwise resolve every one of them on every request, while HRIS rows change daily.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from forwarders.identity.person import Person
from forwarders.identity.store import IdentityStore

COLUMNS = {
    "department": "department",
    "manager": "manager_id",
    "job_code": "job_code",
    "status": "status",
}
"""Group-by name -> the person's field (every attribute the identity import carries)."""
CHUNK = 1000
CACHE_SECONDS = 60.0
CACHE_SIZE = 200_000


class IdentityPeople:
    columns: tuple[str, ...] = tuple(COLUMNS)

    def __init__(self, store: IdentityStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._cache: OrderedDict[bytes, tuple[float, Person | None]] = OrderedDict()

    async def attribute(self, actors: Sequence[dict[str, Any]], column: str) -> list[str | None]:
        field = COLUMNS[column]
        people = await self._people(actors)
        return [None if person is None else getattr(person, field) for person in people]

    async def _people(self, actors: Sequence[dict[str, Any]]) -> list[Person | None]:
        now = self.clock()
        keys = [orjson.dumps(actor, option=orjson.OPT_SORT_KEYS) for actor in actors]
        missing = [i for i, key in enumerate(keys) if self._fresh(key, now) is None]
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            found = await self.store.resolve_many([actors[i] for i in chunk])
            for i, resolution in zip(chunk, found, strict=True):
                self._remember(keys[i], now, resolution.person)
        return [self._cache[key][1] for key in keys]

    def _fresh(self, key: bytes, now: float) -> tuple[float, Person | None] | None:
        entry = self._cache.get(key)
        if entry is None or now - entry[0] > CACHE_SECONDS:
            return None
        self._cache.move_to_end(key)
        return entry

    def _remember(self, key: bytes, now: float, person: Person | None) -> None:
        self._cache[key] = (now, person)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
