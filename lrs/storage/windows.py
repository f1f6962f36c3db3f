"""Reading statements in `stored` order through bounded windows of the sequence key.

Why: an index gives cheap *bounds*, but a server may still read every match before it
sorts and limits (SecantusDB does, and MongoDB does when it cannot use the index for the
sort). So a page is read as a few small ranges of `seq`, newest first (or oldest first),
each range sized from the density seen so far, until the page is full. Every query reads
about `limit` documents whatever the collection size: O(log n) index seeks, never a scan.

The planner is pure; `lrs.storage.mongo_statements` runs the queries.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from lrs.storage.sequence import MS_SHIFT

MIN_SPAN_MS = 1
MAX_GROWTH = 4
INITIAL_SPAN_MS = 200
MAX_ROUNDS = 64
MARGIN = 1.25
"""Windows are sized for a quarter more matches than needed (measured on the benchmark:
1.6, 2 and 3 read more documents and saved too few second reads)."""
WIDEST_FIRST = 4


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
    """Expected matches per millisecond, from earlier queries (see `DensityMemory`)."""
    densest: float | None = None
    """The highest density this query might plausibly have: the first window never holds
    more than `WIDEST_FIRST` pages at that density, since the server reads a whole window."""
    start: int | None = None
    """Descending reads: the newest seq known to exist; the first window reaches down from
    there (covering the empty stretch above it in one read)."""
    found: int = 0
    rounds: int = 0
    covered_ms: int = 0
    _after_gap: tuple[int, int] | None = None
    """(matches, ms) read since the last empty window, None before any empty window."""
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
        span = self.want / self.density * MARGIN
        if self.densest:
            span = min(span, self.want / self.densest * WIDEST_FIRST)
        return max(MIN_SPAN_MS, int(span) + 1)

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

    def record(
        self,
        window: tuple[int, int],
        matches: int,
        stopped_at: int | None = None,
        first_at: int | None = None,
    ) -> None:
        """Account for a window's matches and size the next one from the density seen.

        `stopped_at`: the read hit its limit at this seq, so only the stretch from the
        window's starting edge to there was seen (counting the whole window would halve the
        density each time the page fills early, and the next window would be twice too big).
        `first_at`: the seq of the window's first match, in reading order (see
        `observed_density`).
        """
        self.found += matches
        low, high = window
        if not self.ascending:
            high = min(high, self._dense_top)
        if stopped_at is not None:
            if self.ascending:
                high = min(high, stopped_at + 1)
            else:
                low = max(low, stopped_at)
        self.covered_ms += max(1, (high - low) >> MS_SHIFT)
        self._note_gap(matches, low, high, first_at)
        remaining = self.want - self.found
        if remaining <= 0:
            return
        if matches == 0:
            growth = float(MAX_GROWTH)
        else:
            growth = min(float(MAX_GROWTH), max(1.5, remaining / matches * MARGIN))
        self._span_ms = max(MIN_SPAN_MS, int(self._span_ms * growth))

    def _note_gap(self, matches: int, low: int, high: int, first_at: int | None) -> None:
        """Count the matches and the stretch read since the last empty window; the first
        window with matches after one counts from its first match on (the part of it
        before that belongs to the gap)."""
        if matches == 0:
            self._after_gap = (0, 0)
            return
        if self._after_gap is None:
            return
        found, covered = self._after_gap
        if found == 0 and first_at is not None:
            if self.ascending:
                low = max(low, first_at)
            else:
                high = min(high, first_at + 1)
        self._after_gap = (found + matches, covered + max(1, (high - low) >> MS_SHIFT))

    def observed_density(self) -> float | None:
        """Matches per millisecond, for the next query of this shape (often this one's
        `more` page, which starts where this one stopped). After an empty window, only what
        was read past it counts: a page that crossed a gap between bursts of writes would
        otherwise remember the gap's sparseness, and its `more` page would open one window
        over many pages of the dense stretch below it, which the server reads whole
        (measured on 250,000 statements: a verb filter's page 2 at 170 ms p50, against
        5-10 ms for the pages after it)."""
        if self._after_gap is not None and self._after_gap[0]:
            return self._after_gap[0] / self._after_gap[1]
        if self.found == 0 or self.covered_ms == 0:
            return None
        return self.found / self.covered_ms


class DensityMemory:
    """Matches per millisecond seen by earlier reads, to size a read's first window.

    Remembered per query (its required keys) for the last `capacity` queries. A query not
    seen before takes the median of the recent reads of its kind (say, any agent filter),
    capped by the densest of them: an overestimate costs one more window, an underestimate
    makes the first window too wide. The median, not the maximum: on the benchmark's agents
    it saved a third of the second reads (1.9 reads per query down to 1.3).
    """

    def __init__(self, capacity: int = 4096, per_kind: int = 32) -> None:
        self.capacity = capacity
        self.per_kind = per_kind
        self._by_query: OrderedDict[Hashable, float] = OrderedDict()
        self._by_kind: dict[str, deque[float]] = {}

    def estimate(self, query: Hashable, kind: str) -> tuple[float | None, float | None]:
        """(expected, densest plausible) matches per millisecond, or None when unknown."""
        known = self._by_query.get(query)
        if known is not None:
            self._by_query.move_to_end(query)
            return known, None
        recent = self._by_kind.get(kind)
        if not recent:
            return None, None
        ordered = sorted(recent)
        return ordered[len(ordered) // 2], ordered[-1]

    def remember(self, query: Hashable, kind: str, density: float) -> None:
        self._by_query[query] = density
        self._by_query.move_to_end(query)
        while len(self._by_query) > self.capacity:
            self._by_query.popitem(last=False)
        self._by_kind.setdefault(kind, deque(maxlen=self.per_kind)).append(density)
