"""The ingest rate the console shows: statements per second over the last minute."""

from __future__ import annotations

from lrs.rate_meter import RateMeter


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_is_the_last_minute_s_statements_per_second() -> None:
    ticks = Ticks()
    meter = RateMeter(monotonic=ticks)
    assert meter.per_second() == 0
    for _ in range(30):
        meter.add(100)
        ticks.now += 1
    assert meter.per_second() == 30 * 100 / 60


def test_statements_older_than_a_minute_stop_counting() -> None:
    ticks = Ticks()
    meter = RateMeter(monotonic=ticks)
    meter.add(600)
    ticks.now += 30
    meter.add(60)
    assert meter.per_second() == 11
    ticks.now += 45  # the first second is 75 s old, the second 45 s
    assert meter.per_second() == 1
    ticks.now += 60
    assert meter.per_second() == 0


def test_a_slot_reused_a_minute_later_starts_from_zero() -> None:
    ticks = Ticks()
    meter = RateMeter(monotonic=ticks)
    meter.add(600)
    ticks.now += 60  # same slot, a new second
    meter.add(6)
    assert meter.per_second() == 0.1
