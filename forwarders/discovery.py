"""Finding the statements to forward: polling the stored sequence through the index.

Only statements some forwarder may want are read: those filed under the verb IRIs the
forwarders' canonical verbs stand for (`rules.verb_iris`), plus voiding statements (they
revoke), through the statements' `(keys, seq)` index (`StatementSource.slices`). Ingest pays
nothing for discovery but these reads: a change stream, served by the database on the cores
ingest uses, halved the ingest rate of the embedded database.

A statement's position is taken before its insert commits, so a write can commit below a
position already read. Each poll therefore reads three ranges, each from where its last
read ended:

- live: up to now, so a new statement goes out within a poll interval; it starts again
  `LIVE_OVERLAP_MS` back, so a write that committed just behind its last read (a position
  is taken before the insert commits: under load a poll often lands in between) goes out
  at the next poll, not at the recheck's (that put a second into the p95 latency);
- recheck: up to `RECHECK_MS` ago, for the writes that committed behind the live read;
- durable: up to the horizon, a position below which no write can still land (for the API
  processes: their oldest write in flight, and a lag for the others; see
  `lrs.storage.analytics_source.horizon`, the rollup consumer's). Only this range moves
  the saved cursor, so nothing committed is ever skipped, across any crash.

What one range already handled is skipped by the next (`seen`): each statement is read up
to three times and enqueued once (enqueue is idempotent besides). After a restart the
cursor resumes where it was saved; the live and recheck ranges start from now, so new
statements go out at once while the durable range works through what was missed, a few
slices per poll, behind them.

Each range's reads are cheap index ranges, one query per verb key (the embedded database
scans the whole collection for `$in`). The live range is read every `POLL_SECONDS`, the
recheck range every `RECHECK_MS` (in the same read as the live one: its range ends where
the live one begins), the durable one every `DURABLE_EVERY_SECONDS`, and at once again
while it is behind.
Only one worker discovers at a time (a lease in `forwarder_state`); every worker delivers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from forwarders.claim import Claim
from forwarders.erasure_marks import Marks
from forwarders.events import Event, statement_event
from forwarders.pipeline import Match, Pipeline
from forwarders.queue import Job, JobStore
from forwarders.rules import Forwarder, matches, verb_iris, wanted_verbs
from forwarders.source import StatementSource, StoredStatement
from forwarders.store import STATE, ForwarderStore
from statements.vocabulary import Vocabulary, canonical_verb

log = logging.getLogger("forwarders.discovery")

BATCH = 500
POLL_SECONDS = 0.4
"""The live range's period. Each read costs a query per hot verb IRI beside ingest, and an
event still reaches its receiver well within a second (docs/forwarders.md)."""
RECHECK_MS = 500
LIVE_OVERLAP_MS = 300
RECENT_RANGES = (
    ("live", 0, 0.0, LIVE_OVERLAP_MS),
    ("recheck", RECHECK_MS, RECHECK_MS / 1000, 0),
)
"""The recent ranges: name, lag behind now (ms), how often read (s), how far back each
read starts again behind the last one's end (ms)."""
DURABLE_EVERY_SECONDS = 2.0
"""The durable range reads every wanted verb IRI (7 queries for the default forwarder), so
it is read less often than the live range: it moves the saved cursor and finds the cold
IRIs' first statements, nothing that waits on it is urgent."""
COLD_AFTER_SECONDS = 3600.0
"""A wanted verb IRI no statement was found under for this long is cold: only the durable
range reads it (see `Discovery.hot`). Long, so that a verb in use is never cold: only the
aliases nobody sends are, and the first statement after an hour's silence."""
HORIZON_LAG_MS = 2000
"""The default horizon's lag behind now (the API's `LRS_ANALYTICS_LAG_MS` default)."""
DURABLE_SLICES = 4
"""Slices the durable range reads per poll when behind: the live range waits no longer."""
SAVE_EVERY_SECONDS = 1.0
FORWARDER_SKEW_MS = 1000
"""The cursor stays this far behind the last read of the forwarders: one created (on
another node's clock) after that read is known before the cursor passes its creation."""
UPGRADE_RESCAN_MS = 300_000
"""A store left by the change-stream discovery has a watermark, not a cursor: the cursor
starts this far behind it (what that version re-read at every start)."""
CURSOR_STATE = "discovery"
LEASE_STATE = "discovery-lease"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
"""Voiding statements carry this verb (xAPI 2.0.0, 2.3.2): read so they revoke."""
Clock = Callable[[], datetime]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ForwarderCache:
    """The forwarders, re-read at most every `max_age` seconds (or on `refresh`)."""

    def __init__(self, store: ForwarderStore, max_age: float = 1.0) -> None:
        self.store = store
        self.max_age = max_age
        self._loaded_at = float("-inf")
        self.loaded_ms = 0
        """Wall time of the last read: a forwarder created or changed before it is known."""
        self._forwarders: list[Forwarder] = []

    async def refresh(self) -> list[Forwarder]:
        started = wall_ms()
        self._forwarders = await self.store.all()
        self._loaded_at, self.loaded_ms = time.monotonic(), started
        return self._forwarders

    @property
    def known(self) -> list[Forwarder]:
        """The forwarders as last read (no database read)."""
        return self._forwarders

    async def current(self) -> list[Forwarder]:
        if time.monotonic() - self._loaded_at > self.max_age:
            return await self.refresh()
        return self._forwarders


def _created_ms(forwarder: Forwarder) -> int:
    return int(forwarder.created.timestamp() * 1000)


def statement_matches(
    forwarders: Sequence[Forwarder], stored: StoredStatement, vocabulary: Vocabulary
) -> list[Match]:
    """The events one stored statement produces, each with its forwarder and the parsed
    statement (pure). A forwarder only sees statements stored after it was created; voided
    and voiding statements produce none here. The canonical verb is the one stored beside
    the statement (derived now for statements stored before there was one)."""
    if stored.voided or stored.voids is not None:
        return []
    listening = [f for f in forwarders if stored.stored_ms >= _created_ms(f)]
    if not stored.verbs.intersection(discovery_verbs(listening, vocabulary)):
        return []  # cheap: most statements are never parsed
    statement = stored.statement
    canonical = stored.canonical or canonical_verb(statement, vocabulary)
    return [
        Match(f, statement, statement_event(f.id, statement, canonical))
        for f in listening
        if matches(f, statement, vocabulary, canonical=canonical)
    ]


def named_iris(forwarders: Sequence[Forwarder], vocabulary: Vocabulary) -> frozenset[str]:
    """The verb IRIs the forwarders name themselves (a word names every IRI of it), as
    opposed to the aliases the vocabulary adds to an IRI they name."""
    named = {verb for forwarder in forwarders for verb in forwarder.verbs}
    return verb_iris({v for v in named if ":" not in v}, vocabulary) | {
        v for v in named if ":" in v
    }


def discovery_verbs(forwarders: Sequence[Forwarder], vocabulary: Vocabulary) -> frozenset[str]:
    """The verb IRIs any of these forwarders may want (every alias of their words)."""
    words = set().union(*(wanted_verbs(f, vocabulary) for f in forwarders))
    return verb_iris(words, vocabulary)


class Discovery:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        source: StatementSource,
        pipeline: Pipeline,
        forwarders: ForwarderCache,
        *,
        clock: Clock,
        owner: str,
        horizon: Callable[[], int] | None = None,
        lease_seconds: float = 15.0,
        on_enqueued: Callable[[Sequence[Event]], None] = lambda events: None,
        claim: Callable[[datetime], Claim | None] = lambda now: None,
        on_claimed: Callable[[Sequence[Job]], None] = lambda jobs: None,
    ) -> None:
        """`claim` gives the lease to insert deliverable events under (None: insert them
        due), `on_claimed` receives the jobs so taken, `on_enqueued` the other new
        deliverable events."""
        self.source = source
        self.state = db[STATE]
        self.pipeline = pipeline
        self.jobs: JobStore = pipeline.jobs
        self.vocabulary = pipeline.vocabulary
        self.forwarders = forwarders
        self.clock = clock
        self.owner = owner
        self.horizon = horizon or (lambda: source.position_of(wall_ms() - HORIZON_LAG_MS))
        self.lease = timedelta(seconds=lease_seconds)
        self.on_enqueued = on_enqueued
        self.claim = claim
        self.on_claimed = on_claimed
        self.cursor = 0
        """Every statement at or below it has been handled (saved; durable)."""
        self.read_to: dict[str, int] = {}
        """Where the live and recheck ranges last ended (this process only)."""
        self.seen: dict[str, tuple[int, frozenset[str]]] = {}
        """Statements above the cursor already handled, with their positions and the
        forwarders they were handled for."""
        self.last_read: dict[str, float] = {}
        self.behind = False
        """The durable range stopped short of the horizon: poll again at once."""
        self.found_at: dict[str, float] = {}
        """When a statement was last found under each wanted verb IRI (monotonic), or when
        the verb became wanted: see `hot`."""
        self.fresh_from = 0
        """Statements from this position on were stored after this discovery began (no
        event document can name them yet): their events may be kept unwritten until
        delivered (`claim.Claim`)."""
        self._loaded = False
        self._saved_at = float("-inf")

    # -- turning statements into queued events ----------------------------------------------

    async def process(
        self,
        docs: Sequence[StoredStatement],
        handled: frozenset[str] = frozenset(),
        before: Marks | None = None,
    ) -> int:
        """Enqueue the events of these stored statements (resolved, rendered and given
        their state by the pipeline) for the forwarders not in `handled` (those they were
        processed for already); returns how many were new. `before`: the erasures as read
        before these statements were (`forwarders.erasure_marks`; None: unknown)."""
        forwarders = [f for f in await self.forwarders.current() if f.id not in handled]
        vocabulary = await self.vocabulary.refresh()
        now = self.clock()
        candidates = [c for doc in docs for c in statement_matches(forwarders, doc, vocabulary)]
        claim = self.claim(now) if candidates else None
        if claim is not None:
            claim.before = before
            claim.fresh = {d.id: d.position for d in docs if d.position >= self.fresh_from}
        dispositions, new = await self.pipeline.enqueue(candidates, now, claim)
        if claim is not None and (jobs := claim.jobs(dispositions, new)):
            self.on_claimed(jobs)
            new_ids = new - claim.taken
        else:
            new_ids = new
        voiding = {d.voids: d.statement for d in docs if d.voids}
        if voiding:  # after the enqueue above: a target in the same batch is found
            by_id = {f.id: f for f in forwarders}
            revocations = await self.pipeline.revocations(by_id, voiding, now)
            revoked = await self.jobs.enqueue_dispositions(revocations, now)
            new, new_ids = new | revoked, new_ids | revoked
            dispositions += revocations
        deliverable = [
            d.event for d in dispositions if d.state == "pending" and d.event.id in new_ids
        ]
        if deliverable:
            self.on_enqueued(deliverable)
        return len(new)

    async def _read(self, after: int, through: int, verbs: frozenset[str], slices: int) -> Read:
        """Handle the unseen statements of `(after, through]`, at most `slices` slices
        (0: all); returns how far it read and how many events were new."""
        read, count = Read(after), 0
        before = await self.jobs.marks.before()
        async for found in self.source.slices(after, through, verbs, page=BATCH):
            found_at = time.monotonic()
            for statement in found.statements:
                self.found_at.update(dict.fromkeys(statement.verbs & verbs, found_at))
            read.new += await self._handle(found.statements, before)
            read.through, count = found.through, count + 1
            if count == slices:
                break
        return read

    async def _handle(self, statements: Sequence[StoredStatement], before: Marks) -> int:
        """Process what was not yet processed for every forwarder known now: a statement
        read again after a forwarder became known (the cache is up to a second old, so a
        forwarder created just before a statement may be unknown when it is first read) is
        processed again for the new forwarders alone."""
        known = frozenset(f.id for f in await self.forwarders.current())
        groups: dict[frozenset[str], list[StoredStatement]] = {}
        for statement in statements:
            seen = self.seen.get(statement.id)
            handled = frozenset[str]() if seen is None else seen[1]
            if seen is None or not known <= handled:
                groups.setdefault(handled, []).append(statement)
        new = 0
        for handled, group in groups.items():
            new += await self.process(group, handled, before)
            self.seen.update((s.id, (s.position, known | handled)) for s in group)
        return new

    # -- one poll -----------------------------------------------------------------------------

    async def poll(self, *, drain: bool = False) -> Read:
        """Read the live and recheck ranges, and the durable one when due; the result says
        how many events were new and whether the durable range is behind. `drain` reads
        every range to its end (burst mode, tests)."""
        await self._load()
        forwarders = await self.forwarders.current()
        vocabulary = await self.vocabulary.refresh()
        now = wall_ms()
        oldest = min((_created_ms(f) for f in forwarders), default=now)
        floor = self.source.position_of(oldest) - 1  # no forwarder takes older statements
        verbs = discovery_verbs(forwarders, vocabulary) | {VOIDED} if forwarders else frozenset()
        recent = verbs if drain else self.hot(verbs, named_iris(forwarders, vocabulary))
        due = [r for r in RECENT_RANGES if drain or self._due(r[0], r[2])]
        new = await self._read_recent(due, now, recent, floor, drain) if due else 0
        durable = Read(self.cursor)
        if drain or self.behind or self._due("durable", DURABLE_EVERY_SECONDS):
            durable = await self._read_durable(verbs, floor, drain)
        durable.new += new
        return durable

    async def _read_recent(
        self,
        ranges: Sequence[tuple[str, int, float, int]],
        now_ms: int,
        verbs: frozenset[str],
        floor: int,
        drain: bool,
    ) -> int:
        """Read the due recent ranges (`RECENT_RANGES`), each from where it last ended (less
        its overlap) to its lag behind `now_ms`, as one read of their union: when the recheck
        is due its range ends where the live one begins, so a query per verb reads both (the
        embedded database's fixed cost per query is that of about eight statements)."""
        position_of = self.source.position_of
        start = self.cursor if drain else position_of(wall_ms() - RECHECK_MS)
        bounds: dict[str, int] = {}
        low: int | None = None
        for name, lag_ms, _, overlap_ms in ranges:
            until_ms = now_ms - lag_ms
            begin = self.read_to.get(name, start)
            if overlap_ms:
                begin = min(begin, position_of(until_ms - overlap_ms))
            bounds[name] = position_of(until_ms + 1) - 1
            low = begin if low is None else min(low, begin)
        low = max(low or 0, self.cursor, floor)
        top = max(bounds.values())
        new = (await self._read(low, top, verbs, 0)).new if verbs and top > low else 0
        for name, ends in bounds.items():
            self.read_to[name] = max(ends, self.read_to.get(name, 0))
        return new

    async def _read_durable(self, verbs: frozenset[str], floor: int, drain: bool) -> Read:
        """Move the cursor towards the horizon (a few slices at a time unless `drain`).
        It stays behind the last read of the forwarders, so that none created since is
        passed over."""
        known = self.source.position_of(self.forwarders.loaded_ms - FORWARDER_SKEW_MS)
        horizon = min(self.horizon(), known)
        low = max(self.cursor, floor)
        if horizon <= low:  # nothing to read: below the floor, no forwarder wants anything
            await self._advance(min(low, horizon))
            return Read(self.cursor)
        if verbs:
            read = await self._read(low, horizon, verbs, 0 if drain else DURABLE_SLICES)
        else:
            read = Read(horizon)
        read.behind = self.behind = read.through < horizon
        await self._advance(read.through)
        return read

    def hot(self, verbs: frozenset[str], named: frozenset[str] = frozenset()) -> frozenset[str]:
        """The verb IRIs the recent ranges read: those a statement was found under lately,
        and those a forwarder names (`named_iris`) that became wanted lately. Each IRI
        costs every read one query, found or not (a word's aliases are several IRIs, most
        of them seldom used): a cold one is read by the durable range only, so its first
        statement goes out within the horizon's lag and a durable read (about 4 s), and its next
        ones at once."""
        now = time.monotonic()
        for verb in verbs - self.found_at.keys():
            # newly wanted: hot if a forwarder names it, until it has been quiet a while
            self.found_at[verb] = now if verb in named else float("-inf")
        return frozenset(v for v in verbs if now - self.found_at[v] < COLD_AFTER_SECONDS)

    def _due(self, name: str, every: float) -> bool:
        now = time.monotonic()
        if now - self.last_read.get(name, float("-inf")) < every:
            return False
        self.last_read[name] = now
        return True

    async def backfill(self) -> int:
        """One full poll (burst mode, tests): every statement committed by now is handled;
        returns how many events were new."""
        return (await self.poll(drain=True)).new

    # -- the saved cursor -------------------------------------------------------------------

    async def _load(self) -> None:
        if self._loaded:
            return
        self.fresh_from = self.source.position_of(wall_ms())
        doc = await self.state.find_one({"_id": CURSOR_STATE}) or {}
        if "cursor" in doc:
            self.cursor = max(self.cursor, int(doc["cursor"]))
        elif doc.get("watermark"):  # left by the change-stream version: re-read behind it
            ms = self.source.ms_of(int(doc["watermark"])) - UPGRADE_RESCAN_MS
            self.cursor = max(self.cursor, self.source.position_of(max(ms, 0)) - 1)
        self._loaded = True

    async def _advance(self, through: int) -> None:
        if through <= self.cursor:
            return
        self.cursor = through
        self.seen = {i: seen for i, seen in self.seen.items() if seen[0] > through}
        if time.monotonic() - self._saved_at >= SAVE_EVERY_SECONDS:
            await self.save()

    async def save(self) -> None:
        """Save the cursor, kept below every event not yet written (`claim.Claim`): after a
        crash those statements are read, and their events sent, again."""
        cursor, floor = self.cursor, self.jobs.unrecorded_floor()
        if floor is not None:
            cursor = min(cursor, floor - 1)
        await self.state.update_one(
            {"_id": CURSOR_STATE}, {"$max": {"cursor": cursor}}, upsert=True
        )
        self._saved_at = time.monotonic()

    # -- the live path ----------------------------------------------------------------------

    async def follow(self, halt: asyncio.Event) -> None:
        """Poll until `halt`, at once again while the durable range is behind."""
        try:
            while not halt.is_set():
                try:
                    read = await self.poll()
                except PyMongoError as error:
                    log.warning("discovery poll failed (%s); retrying", error)
                    await _wait(halt, 1.0)
                    continue
                if not read.behind:
                    await _wait(halt, POLL_SECONDS)
        finally:
            if self._loaded:
                await self.save()

    # -- one discoverer at a time -----------------------------------------------------------

    async def acquire(self) -> bool:
        now = self.clock()
        try:
            await self.state.find_one_and_update(
                {"_id": LEASE_STATE, "$or": [{"owner": self.owner}, {"until": {"$lte": now}}]},
                {"$set": {"owner": self.owner, "until": now + self.lease}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def resign(self) -> None:
        await self.state.update_one(
            {"_id": LEASE_STATE, "owner": self.owner}, {"$set": {"until": self.clock()}}
        )

    async def lead(self, stop: asyncio.Event) -> None:
        """While not stopped: take the discovery lease when free and follow while holding it."""
        renew_every = self.lease.total_seconds() / 3
        while not stop.is_set():
            try:
                if await self.acquire():
                    await self._lead_once(stop, renew_every)
                    continue
            except PyMongoError as error:
                log.warning("discovery interrupted (%s); retrying", error)
            await _wait(stop, renew_every)

    async def _lead_once(self, stop: asyncio.Event, renew_every: float) -> None:
        halt = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(stop, halt, renew_every))
        self._loaded = False  # another worker may have led in between: its cursor counts
        self.read_to, self.seen, self.last_read = {}, {}, {}
        try:
            await self.follow(halt)
        finally:
            keeper.cancel()
            await self.resign()

    async def _keep_lease(self, stop: asyncio.Event, halt: asyncio.Event, every: float) -> None:
        try:
            while not await _wait(stop, every):
                if not await self.acquire():
                    log.warning("discovery lease lost to another worker")
                    break
        except PyMongoError as error:
            log.warning("discovery lease not renewed (%s)", error)
        finally:
            halt.set()


@dataclass(slots=True)
class Read:
    """What one read did: how far it got, the new events, whether it stopped short."""

    through: int
    new: int = 0
    behind: bool = False


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
