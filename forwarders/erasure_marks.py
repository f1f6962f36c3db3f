"""Erasures in progress, as the writers of new events see them: what spares a writer from
reading back the statements of every event it writes (`forwarders.erased`).

An erasure marks itself active, moving the epoch, before it first looks for a learner's
events, and unmarks itself after its second look (`lrs.erasure`). A writer that saw no
erasure active before it read its statements (`before`) and, after its write, sees the
same epoch with still none active (`after_write`) knows that no erasure was active at any
moment in between: the statements it read could not have been erased under it, and an
erasure that starts later finds the events it wrote. Only otherwise does it read its
statements back, as every writer did for every write.

The check costs one read of one small document, shared by the writes that finish while it
is waiting, where the read-back cost a query of each write's statements: about half of
the statement reads forwarding added to an ingest (docs/forwarders.md).

An erasure that died while marked stops counting after `STALE_AFTER`; until then every
writer reads back, which is always safe."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.store import STATE
from statements.formats import stored_utc

MARKS = "erasures"
"""The `forwarder_state` document: `{epoch, active: {token: since}}`."""
STALE_AFTER = timedelta(hours=24)
"""Longer than any erasure runs: a mark this old was left by one that died."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Marks:
    """The erasures as read at one moment."""

    epoch: int
    quiet: bool
    """No erasure was active."""

    def unchanged_at(self, later: Marks) -> bool:
        """Whether no erasure was active at any moment from this reading to `later`."""
        return self.quiet and later.quiet and later.epoch == self.epoch


class ErasureMarks:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.state = db[STATE]
        self.clock = clock
        self.latest: Marks | None = None
        """The last reading (None before the first): a valid `before` for any statement
        read after it returned."""
        self._asked = 0
        self._served = 0
        self._served_marks: Marks | None = None
        """The reading `after_write` took last, serving every call made before it began."""
        self._lock = asyncio.Lock()

    async def read(self) -> Marks:
        doc = await self.state.find_one({"_id": MARKS}) or {}
        cutoff = self.clock() - STALE_AFTER
        active = doc.get("active")
        running = [
            since
            for since in (active.values() if isinstance(active, dict) else ())
            if isinstance(since, datetime) and stored_utc(since) > cutoff
        ]
        self.latest = Marks(int(doc.get("epoch", 0)), not running)
        return self.latest

    async def before(self) -> Marks:
        """A reading taken before now, for statements about to be read."""
        return self.latest or await self.read()

    async def after_write(self) -> Marks:
        """A reading begun after this call: the writes that finish while one is being taken
        share the next."""
        self._asked += 1
        asked = self._asked
        async with self._lock:
            if self._served >= asked and self._served_marks is not None:
                return self._served_marks
            begun = self._asked  # every call so far was made before this read begins
            self._served_marks = await self.read()
            self._served = begun
            return self._served_marks

    @contextlib.asynccontextmanager
    async def erasing(self) -> AsyncIterator[None]:
        """Mark an erasure active for as long as the block runs."""
        token = uuid.uuid4().hex
        await self.state.update_one(
            {"_id": MARKS},
            {"$inc": {"epoch": 1}, "$set": {f"active.{token}": self.clock()}},
            upsert=True,
        )
        try:
            yield
        finally:
            await self.state.update_one(
                {"_id": MARKS}, {"$inc": {"epoch": 1}, "$unset": {f"active.{token}": ""}}
            )
