"""Statements stored per second over the last minute, in this process.

A ring of per-second counts: O(1) per observation and per read, no database. The console's
overview shows it as "ingest rate now"; every API process keeps its own (a deployment with
several sums them, as Prometheus does with `lrs_statements_stored_total`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

WINDOW_SECONDS = 60


class RateMeter:
    def __init__(
        self, window: int = WINDOW_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self.monotonic = monotonic
        self._counts = [0] * window
        self._seconds = [-1] * window
        """The whole second each slot counts; a slot of an older second is stale."""

    def add(self, count: int) -> None:
        second = int(self.monotonic())
        slot = second % self.window
        if self._seconds[slot] != second:
            self._seconds[slot], self._counts[slot] = second, 0
        self._counts[slot] += count

    def per_second(self) -> float:
        """The mean over the last `window` whole seconds and the current one."""
        now = int(self.monotonic())
        recent = sum(
            n for n, s in zip(self._counts, self._seconds, strict=True) if now - s < self.window
        )
        return recent / self.window
