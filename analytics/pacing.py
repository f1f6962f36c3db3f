"""How much of the time the rollup consumer takes while statements are being written.

The consumer shares one database with the write path. Every range it applies costs the
database about as much as storing the statements again, so run flat out during a burst of
writes it would take a large share of the ingest rate. While the write path is busy it
therefore works a bounded share of the time (it trails, and `through` says how far); when
the writes stop it runs flat out and catches up. A consumer never stops: even under
sustained writes it advances at its share, so the trail is bounded by the burst's length.

The share is kept piece by piece (`Pacer`): a range's writes go to the database in chunks
sized to take about `CHUNK_SECONDS` (`analytics.chunks`), and after each chunk and each of
the range's reads the consumer pauses for its work since the last pause. Paced only
between whole steps, the first step of a burst ran unpaced and its pause fell after the
burst: traced on a loaded machine, one step of 300 statements took 6.1 s, 23 % of a 26.5 s
burst; paced piece by piece, the consumer worked 9-12 % of each burst (docs/analytics.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass

BUSY_WITHIN_SECONDS = 1.0
"""The write path counts as busy this long after a write started."""
MAX_PAUSE_SECONDS = 30.0
"""Longest pause after one step: a slow step must not leave the rollups idle for long.
Steps are small while the write path is busy (`BUSY_BATCH`), so the cap rarely binds: when
it did (2,000-statement steps of 2 s on a loaded machine, paused 5 s), the consumer took
nearly 30 % of the time instead of its share."""
BUSY_BATCH = 500
"""Statements per range while the write path is busy: each of a range's reads (its
statements, their voiders, its learner documents) is one piece of work paced after it is
done, so ranges are kept short while it matters."""
WRITE_CHUNK = 100
"""Operations per bulk write of a range, at most: at 0.5-4.3 ms an update on a quiet machine
(docs/analytics.md) a chunk holds the database for 0.05-0.4 s before the consumer pauses."""
CHUNK_SECONDS = 0.1
"""What a chunk should take: on a loaded machine 100 updates took 0.6-1.2 s, so the next
chunk is made smaller (`next_chunk`)."""
MIN_CHUNK = 10


def next_chunk(size: int, took: float) -> int:
    """The size of the next chunk, after one of `size` operations took `took` seconds."""
    if took <= 0:
        return WRITE_CHUNK
    return max(MIN_CHUNK, min(WRITE_CHUNK, int(size * CHUNK_SECONDS / took)))


@dataclass(frozen=True, slots=True)
class Pacing:
    busy_share: float = 0.1
    """The share of wall time the consumer works while the write path is busy (0 < x <= 1)."""

    def pause_after(self, took: float, busy: bool) -> float:
        """Seconds to wait after a step that took `took` seconds, so that stepping takes
        `busy_share` of the time while writes are in flight; no pause when idle."""
        if not busy or self.busy_share >= 1.0:
            return 0.0
        return min(MAX_PAUSE_SECONDS, took * (1.0 / self.busy_share - 1.0))


FLAT_OUT = Pacing(busy_share=1.0)
"""No pacing (tests and commands that drive the consumer themselves)."""


class Pacer:
    """Keeps the consumer's work to its share as it goes: `breathe` pauses for the work done
    since the last pause (database time and the Python around it), so no piece of work runs
    longer than a chunk unpaced. Set as `PACER` in the consumer's background task only: a
    caller that drives the consumer itself (`catch_up`, tests) is never paced."""

    def __init__(
        self,
        pacing: Pacing,
        busy: Callable[[], bool],
        stop: asyncio.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacing = pacing
        self.busy = busy
        self.stop = stop or asyncio.Event()
        self.clock = clock
        self._since = clock()
        self.chunk = WRITE_CHUNK
        """The next chunk's size (`next_chunk`), kept from one bulk write to the next: the
        first chunk of each at the full size took 0.8-1.3 s on a loaded machine."""

    def restart(self) -> None:
        """Work starts now (after an idle wait, which is not work)."""
        self._since = self.clock()

    async def breathe(self) -> None:
        wait = self.pacing.pause_after(self.clock() - self._since, self.busy())
        if wait > 0:
            await self.pause(wait)
        self._since = self.clock()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the consumer is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


PACER: ContextVar[Pacer | None] = ContextVar("analytics_pacer", default=None)
"""The pacer of the task running the consumer's loop, if any (`breathe`)."""


async def breathe() -> None:
    """A pause, if the task is a paced consumer's, for the work since its last pause."""
    pacer = PACER.get()
    if pacer is not None:
        await pacer.breathe()


class InFlightWrites(set[int]):
    """The seqs of this process's writes in flight (what the horizon waits for), remembering
    when a write last started: between two requests the set is briefly empty, and a consumer
    that sampled only that would take a step at full speed in the middle of a burst."""

    def __init__(self) -> None:
        super().__init__()
        self.last_started = -math.inf

    def update(self, *others: Iterable[int]) -> None:
        self.last_started = time.monotonic()
        super().update(*others)

    def busy(self, within: float = BUSY_WITHIN_SECONDS) -> bool:
        return bool(self) or time.monotonic() - self.last_started < within


def chunk_size() -> int:
    """Operations in the next chunk of a range's writes: sized to the recent pace while a
    paced consumer's write path is busy, `WRITE_CHUNK` otherwise (catching up, tests)."""
    pacer = PACER.get()
    return pacer.chunk if pacer is not None and pacer.busy() else WRITE_CHUNK


def chunk_took(size: int, took: float) -> None:
    """A chunk of `size` operations took `took` seconds: the next one's size follows."""
    pacer = PACER.get()
    if pacer is not None:
        pacer.chunk = next_chunk(size, took)
