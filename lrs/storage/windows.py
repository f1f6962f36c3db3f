"""Reading statements in `stored` order through bounded windows of the sequence key.

Why: an index gives cheap *bounds*, but a server may still read every match before it
sorts and limits (SecantusDB does, and MongoDB does when it cannot use the index for the
sort). So a page is read as a few small ranges of `seq`, newest first (or oldest first),
each range sized from the density seen so far, until the page is full. Every query reads
about `limit` documents whatever the collection size: O(log n) index seeks, never a scan.

The planner is pure; `lrs.storage.mongo_statements` runs the queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrs.storage.sequence import MS_SHIFT

MIN_SPAN_MS = 1
MAX_GROWTH = 4
INITIAL_SPAN_MS = 200
MAX_INITIAL_SPAN_MS = 1000
"""A remembered density may come from a sparser stretch (or filter value): never open with
more than a second of statements, since the server reads the whole window."""
MAX_ROUNDS = 64


@dataclass
class WindowPlan:
    """Yields `[low, high)` seq ranges moving away from the start until the page is full.

    `low`/`high` bound the whole query (since/until/cursor). Descending reads start at
    `high` and move down; ascending reads start at `low` and move up.
    """

    low: int
    high: int
    ascending: bool
    want: int
    density: float | None = None
    """Expected matches per millisecond, from earlier queries on the same index."""
    start: int | None = None
    """Descending reads: the newest seq known to exist; the first window reaches down from
    there (covering the empty stretch above it in one read)."""
    found: int = 0
    rounds: int = 0
    covered_ms: int = 0
    _edge: int = field(init=False)
    _dense_top: int = field(init=False)
    _span_ms: int = field(init=False)

    def __post_init__(self) -> None:
        self._edge = self.low if self.ascending else self.high
        self._dense_top = self.high
        self._span_ms = self._initial_span()

    def _initial_span(self) -> int:
        if not self.density:
            return INITIAL_SPAN_MS
        return min(MAX_INITIAL_SPAN_MS, max(MIN_SPAN_MS, int(self.want / self.density * 1.25) + 1))

    def next_window(self) -> tuple[int, int] | None:
        if self.found >= self.want or self.rounds >= MAX_ROUNDS or self.low >= self.high:
            return None
        span = self._span_ms << MS_SHIFT
        if self.ascending:
            if self._edge >= self.high:
                return None
            window = (self._edge, min(self.high, self._edge + span))
            self._edge = window[1]
        else:
            if self._edge <= self.low:
                return None
            top = (
                self._edge if self.rounds or self.start is None else min(self._edge, self.start + 1)
            )
            window = (max(self.low, top - span), self._edge)
            self._dense_top = top  # the stretch above the newest statement holds nothing
            self._edge = window[0]
        self.rounds += 1
        return window

    def resume_after(self, seq: int) -> None:
        """The last read stopped at `seq` inside its window: continue just past it."""
        self._edge = seq + 1 if self.ascending else seq

    def record(self, window: tuple[int, int], matches: int) -> None:
        """Account for a window's matches and size the next one from the density seen."""
        self.found += matches
        top = min(window[1], self._dense_top) if not self.ascending else window[1]
        self.covered_ms += max(1, (top - window[0]) >> MS_SHIFT)
        remaining = self.want - self.found
        if remaining <= 0:
            return
        if matches == 0:
            growth = float(MAX_GROWTH)
        else:
            growth = min(float(MAX_GROWTH), max(1.5, remaining / matches * 1.25))
        self._span_ms = max(MIN_SPAN_MS, int(self._span_ms * growth))

    def observed_density(self) -> float | None:
        if self.found == 0 or self.covered_ms == 0:
            return None
        return self.found / self.covered_ms
