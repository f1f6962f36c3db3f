"""How much of the time the rollup consumer takes while statements are being written.

The consumer shares one database with the write path. Every range it applies costs the
database about as much as storing the statements again, so run flat out during a burst of
writes it would take a large share of the ingest rate. While the write path is busy it
therefore works a bounded share of the time (it trails, and `through` says how far); when
the writes stop it runs flat out and catches up. A consumer never stops: even under
sustained writes it advances at its share, so the trail is bounded by the burst's length.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

BUSY_WITHIN_SECONDS = 1.0
"""The write path counts as busy this long after a write started."""
MAX_PAUSE_SECONDS = 30.0
"""Longest pause after one step: a slow step must not leave the rollups idle for long.
Steps are small while the write path is busy (`BUSY_BATCH`), so the cap rarely binds: when
it did (2,000-statement steps of 2 s on a loaded machine, paused 5 s), the consumer took
nearly 30 % of the time instead of its share."""
BUSY_BATCH = 500
"""Statements per step while the write path is busy: short steps hold the database briefly."""


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
