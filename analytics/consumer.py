"""The sequenced consumer: applies every stored statement to the rollups exactly once.

One consumer runs at a time (a lease on the state document); it reads the stored sequence
in order below a horizon (a seq below which no write can still land) and keeps a durable
cursor. Each step:

1. decides its range `[cursor, end)` and records it as `pending` (a write-ahead intent);
2. applies the range's delta to each rollup document guarded by `upto < end`;
3. moves the cursor to `end` and clears `pending`.

A crash after 1 or 2 leaves `pending`: the next consumer (this process after a restart, or
another one once the lease lapses) redoes exactly that range, and the guard skips the
documents already done. A crash never loses a statement (the cursor moves only after the
apply) and never counts one twice (the guard), so the rollups stay exact.

Erasure and retention rewrite or delete statements already counted: they file a refresh of
the activities concerned (`analytics.refresh`), which the consumer carries out between
steps by recounting those activities below its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from analytics.counting import batch_delta, counted_delta, lookups
from analytics.pacing import BUSY_BATCH, FLAT_OUT, PACER, Pacer, Pacing, breathe
from analytics.refresh import Refreshes
from analytics.rollups import RollupStore
from analytics.source import StatementSource
from statements.formats import stored_utc

log = logging.getLogger("analytics.consumer")
STATE = "analytics_state"
CURSOR = "cursor"
VERSION = "version"
"""Set anew once a range, a refresh or a reset has written rollup documents (`version`)."""
FIGURED = "figured"
"""The version whose figures (`analytics.figures`) are all made: set by the consumer once no
calendar document is marked for them, so they hold what the calendar documents do while the
version stands."""
LEASE = timedelta(seconds=30)
RENEW_AFTER = timedelta(seconds=10)
"""How long a held lease goes unrenewed: a step reads the state while more than
`LEASE - RENEW_AFTER` of the lease is left, and writes it only then. An idle consumer steps
twice a second, and renewing at every step was two writes a second per API process,
forever (each a journal write, and an oplog entry on a replica set)."""
LAYOUT = 9
"""The rollup documents' layout: a state of another layout is rebuilt from the statements,
except `DERIVED`'s."""
DERIVED = 8
"""The layout before the figures (`analytics.figures`): every calendar document is marked
for them (they are made when the consumer is idle), instead of a rebuild."""
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Progress:
    cursor: int
    horizon: int
    pending_refreshes: int
    figures_current: bool = False
    """Whether every period's figures are made (`FIGURED`): series read them."""


class LeaseLost(Exception):
    """Another consumer holds the state: this one stops stepping."""


class Consumer:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        source: StatementSource,
        rollups: RollupStore,
        horizon: Callable[[], int],
        *,
        batch: int = 2000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        busy: Callable[[], bool] = lambda: False,
        pacing: Pacing = FLAT_OUT,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.state = db[STATE]
        self.refreshes = Refreshes(db, clock)
        self.source = source
        self.rollups = rollups
        self.horizon = horizon
        self.batch = batch
        self.clock = clock
        self.busy = busy
        """Whether writes are in flight in this process (the background loop then paces)."""
        self.pacing = pacing
        self.changed = changed
        """Told when this consumer has written a new version of the rollups (`version`)."""
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stepping = asyncio.Lock()
        """The background loop and a caller (`catch_up`) share the owner: one step at a time."""

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, idle_seconds: float = 0.5) -> None:
        """Step until `stop`, paced (`analytics.pacing`): a range's writes pause after each
        chunk, and the rest of a step's work (reads, the state) after the step."""
        pacer = Pacer(self.pacing, self.busy, stop)
        token = PACER.set(pacer)
        try:
            while not stop.is_set():
                pacer.restart()
                try:
                    done = await self.step(BUSY_BATCH if self.busy() else self.batch)
                except LeaseLost:
                    done = 0
                except PyMongoError:
                    log.warning("analytics step failed; retrying", exc_info=True)
                    done = 0
                if done:
                    await pacer.breathe()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), idle_seconds)
        finally:
            PACER.reset(token)

    async def catch_up(self) -> Progress:
        """Step until the cursor reaches the horizon, no refresh waits and the figures are
        made (tests, the CLI)."""
        while await self.step():
            pass
        return await self.progress()

    async def step(self, batch: int | None = None) -> int:
        """One range (at most `batch` statements), or the waiting refreshes, or some
        figures; returns how much work was done (0: idle)."""
        async with self._stepping:
            return await self._step(batch or self.batch)

    async def _step(self, batch: int) -> int:
        state = await self._lease()
        if state.get("reset_requested") or state.get("layout") not in (LAYOUT, DERIVED):
            await self._reset()
            return 1
        if state.get("layout") == DERIVED:
            await self.rollups.mark_every_activity()
            await self._save({"layout": LAYOUT})
            return 1
        if state.get("paused_until") and state["paused_until"] > self.clock():
            return 0
        pending = state.get("pending")
        if pending is not None:
            return await self._apply(int(pending["from"]), int(pending["to"]), redo=True) or 1
        cursor, horizon = int(state.get("seq", 0)), self.horizon()
        if cursor < horizon:
            done = await self._advance(cursor, horizon, batch)
            if done:
                return done
            cursor = horizon
        return await self._refresh(cursor) or await self._figures(state)

    async def _advance(self, cursor: int, horizon: int, limit: int) -> int:
        batch = await self.source.slice(cursor, horizon, limit)
        end = batch[-1].seq + 1 if len(batch) == limit else horizon
        if not batch:
            await self._save({"seq": end})
            return 0
        await self._save({"pending": {"from": cursor, "to": end}})
        await breathe()
        return await self._apply(cursor, end, redo=False, batch=batch)

    async def _apply(self, low: int, high: int, *, redo: bool, batch: Sequence[Any] = ()) -> int:
        if redo:
            batch = await self.source.slice(low, high, 10 * self.batch)
        ids, target_ids = lookups(batch)
        voiders = await self.source.first_voiders(ids)
        targets = {t.id: t for t in await self.source.by_ids(target_ids)} if target_ids else {}
        delta = batch_delta(batch, voiders, targets)
        await breathe()  # each of the step's reads, as each chunk of its writes
        totals, stale = await self.rollups.totals_for(delta, high)
        await breathe()
        if delta.stale or stale:  # filed before the apply: a crash after it cannot lose it
            await self.refreshes.close(await self.refreshes.open(delta.stale | stale))
        await self.rollups.apply(delta, high, totals)
        await self._save({"seq": high, "pending": None, VERSION: uuid.uuid4().hex})
        return len(batch)

    # -- refreshes (erasure, retention) -----------------------------------------------------

    async def _refresh(self, cursor: int) -> int:
        request = await self.refreshes.next_due()
        if request is None:
            return 0
        for activity in request["activities"]:
            await self.recount_activity(activity, cursor)
        await self._save({VERSION: uuid.uuid4().hex})  # a new version (`version`)
        await self.refreshes.done(request["_id"])
        return 1

    async def recount_activity(self, activity: str, cursor: int) -> None:
        statements = await self.source.of_activity(activity, cursor)
        voiders = await self.source.first_voiders([s.id for s in statements if s.voided])
        await self.rollups.replace_activity(
            activity, counted_delta(statements, voiders, cursor), cursor
        )

    # -- figures ---------------------------------------------------------------------------

    async def _figures(self, state: Document) -> int:
        """With nothing else to do, the figures of some marked calendar documents; once none
        is marked, the version they hold (`FIGURED`). Idle work only: made by each range
        as it went, they cost ingest a sixth (docs/analytics.md), and a series reads the
        calendar documents meanwhile."""
        done = await self.rollups.refigure()
        if done:
            return done
        version = state.get(VERSION)
        if version and state.get(FIGURED) != version:
            mine = {"_id": CURSOR, "owner": self.owner, VERSION: version}
            await self.state.update_one(mine, {"$set": {FIGURED: version}})
            self.changed()
        return 0

    # -- state ------------------------------------------------------------------------------

    async def progress(self) -> Progress:
        state = await self.state.find_one({"_id": CURSOR}) or {}
        waiting = await self.refreshes.waiting()
        current = _version(state)[2]
        return Progress(int(state.get("seq", 0)), self.horizon(), waiting, current)

    async def cursor(self) -> int:
        """The cursor alone (what an answer's `through` says): one point read."""
        return (await self.version())[0]

    async def version(self) -> tuple[int, str, bool]:
        """The cursor, and the rollups' version: a token set anew with the cursor by every
        range applied, and by every refresh and reset, each after its writes to the rollups,
        so an answer computed from documents read after the token is valid while it stands
        (`analytics.memo`). A range with no statement moves the cursor alone. Last, whether
        the figures hold what the calendar documents do (`FIGURED`)."""
        state = await self.state.find_one({"_id": CURSOR}, {"seq": 1, VERSION: 1, FIGURED: 1})
        return _version(state or {})

    async def reset(self) -> None:
        """Start over from the first statement (rebuild): rollups cleared, cursor at 0.

        Asked for in the state document, so whichever consumer holds the lease (maybe an
        API process) carries it out at its next step. The state says `rebuilding` until
        `finish_rebuild`, so an interrupted rebuild is resumed, not started over."""
        await self.state.update_one(
            {"_id": CURSOR}, {"$set": {"reset_requested": True, "rebuilding": True}}, upsert=True
        )

    async def _reset(self) -> None:
        await self._save({"pending": None, "seq": 0})
        await self.rollups.clear()
        await self.refreshes.clear()
        await self._save({"reset_requested": False, "layout": LAYOUT, VERSION: uuid.uuid4().hex})

    async def pause(self, seconds: float) -> None:
        """Hold every consumer still (for `verify`); a step already running completes."""
        until = self.clock() + timedelta(seconds=seconds)
        await self.state.update_one({"_id": CURSOR}, {"$set": {"paused_until": until}}, upsert=True)

    async def resume(self) -> None:
        await self.state.update_one({"_id": CURSOR}, {"$unset": {"paused_until": ""}})

    async def settled(self) -> Document:
        """The state once no range is pending (waits for a running step to finish)."""
        while True:
            state = await self.state.find_one({"_id": CURSOR}) or {}
            if state.get("pending") is None:
                return state
            await asyncio.sleep(0.1)

    async def rebuilding(self) -> bool:
        state = await self.state.find_one({"_id": CURSOR}) or {}
        return bool(state.get("rebuilding"))

    async def finish_rebuild(self) -> None:
        async with self._stepping:
            await self._lease()
            await self._save({"rebuilding": False})

    async def _lease(self) -> Document:
        now = self.clock()
        held = await self._held(now)
        if held is not None:
            return held
        # free when never held (`reset`/`pause` may create the document), ours, or lapsed
        free = [{"owner": {"$exists": False}}, {"owner": self.owner}, {"lease_until": {"$lt": now}}]
        mine = {"$or": free}
        update = {"$set": {"owner": self.owner, "lease_until": now + LEASE}}
        try:
            state = await self.state.find_one_and_update(
                {"_id": CURSOR, **mine}, update, return_document=ReturnDocument.AFTER
            )
            if state is None:
                fresh = {"seq": 0, "layout": LAYOUT}
                await self.state.insert_one({"_id": CURSOR, **fresh, **update["$set"]})
                state = fresh
        except DuplicateKeyError:
            raise LeaseLost from None
        return state

    async def _held(self, now: datetime) -> Document | None:
        """The state, when this consumer holds a lease with more than `LEASE - RENEW_AFTER`
        of it left (it need not be renewed yet); `LeaseLost` when another consumer holds one
        that has not lapsed (no write is tried); None when the lease is to be written."""
        state = await self.state.find_one({"_id": CURSOR})
        if state is None:
            return None
        owner, until = state.get("owner"), state.get("lease_until")
        until = stored_utc(until) if isinstance(until, datetime) else None
        if owner == self.owner:
            return state if until is not None and until - now > LEASE - RENEW_AFTER else None
        if owner is not None and (until is None or until >= now):
            raise LeaseLost
        return None

    async def _save(self, fields: Document) -> None:
        result = await self.state.update_one({"_id": CURSOR, "owner": self.owner}, {"$set": fields})
        if result.matched_count == 0:
            raise LeaseLost
        if "seq" in fields or VERSION in fields:
            self.changed()


def _version(state: Document) -> tuple[int, str, bool]:
    version = str(state.get(VERSION, ""))
    return int(state.get("seq", 0)), version, bool(version) and state.get(FIGURED) == version
