"""The stored sequence: one monotonic int64 that orders statements, bounds since/until and
serves as the `more` cursor.

Layout: milliseconds since the epoch << 20 | a per-millisecond counter (12 bits) << 8 | a
node number (8 bits) that each process takes from the database at start-up. The high part
is the statement's `stored` time, so `since`/`until` become ranges on the same key the
results are ordered by, and the key is unique across up to 256 concurrent processes.

An int64 holds 43 bits of milliseconds: stored times up to the year 2248. A `since` or
`until` outside the range (the spec allows any timestamp: `until=9999-12-31T23:59:59Z` simply
means "everything") is clamped to it rather than overflowing the database's integers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

COUNTER_BITS = 12
NODE_BITS = 8
MS_SHIFT = COUNTER_BITS + NODE_BITS
COUNTER_MAX = (1 << COUNTER_BITS) - 1
SEQ_MAX = (1 << 63) - 1
"""The largest seq the database stores (int64); every bound is clamped to [0, SEQ_MAX]."""


def ms_of(seq: int) -> int:
    return seq >> MS_SHIFT


def stored_string(ms: int) -> str:
    """ISO 8601 UTC with millisecond precision, the form `stored` takes in every statement."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _floor_ms(moment: datetime) -> int:
    seconds = int(moment.replace(microsecond=0).timestamp())
    return seconds * 1000 + moment.microsecond // 1000


CLOCK_SKEW_MS = 60_000
"""How far the clocks of two API nodes may disagree: seq bounds allow this much margin."""


def future_seq() -> int:
    """Past anything stored: now plus the clock skew between API nodes."""
    return (time.time_ns() // 1_000_000 + CLOCK_SKEW_MS + 1) << MS_SHIFT


def seq_at(moment: datetime) -> int:
    """The first seq of the millisecond `moment` falls in."""
    return first_seq_of_ms(_floor_ms(moment))


def first_seq_of_ms(ms: int) -> int:
    """The first seq of millisecond `ms`, clamped to what the database can store."""
    return _clamped(ms << MS_SHIFT)


def since_bound(moment: datetime) -> int:
    """Statements with seq >= this were stored strictly after `moment` (ms precision)."""
    return _clamped((_floor_ms(moment) + 1) << MS_SHIFT)


def until_bound(moment: datetime) -> int:
    """Statements with seq < this were stored at or before `moment`."""
    return _clamped((_floor_ms(moment) + 1) << MS_SHIFT)


def _clamped(seq: int) -> int:
    """Before the epoch, nothing was stored; after 2248, nothing can be: both ends hold."""
    return max(0, min(seq, SEQ_MAX))


class SequenceClock:
    """Hands out strictly increasing sequence numbers for this process."""

    def __init__(self, node: int, now_ms: Callable[[], int] | None = None) -> None:
        self.node = node & ((1 << NODE_BITS) - 1)
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._ms = 0
        self._counter = 0

    def next(self) -> int:
        now = self._now_ms()
        if now > self._ms:
            self._ms, self._counter = now, 0
        elif self._counter < COUNTER_MAX:
            self._counter += 1
        else:  # more than 4096 in one millisecond, or the clock stepped back: borrow ahead
            self._ms, self._counter = self._ms + 1, 0
        return (self._ms << MS_SHIFT) | (self._counter << NODE_BITS) | self.node

    def take(self, count: int) -> list[int]:
        return [self.next() for _ in range(count)]
