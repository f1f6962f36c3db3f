import pytest

from analytics.contribution import duration_seconds
from analytics.pacing import (
    MAX_PAUSE_SECONDS,
    MIN_CHUNK,
    PACER,
    WRITE_CHUNK,
    Pacer,
    Pacing,
    breathe,
    chunk_size,
    chunk_took,
    next_chunk,
)


def test_while_writes_are_in_flight_the_consumer_works_its_share_of_the_time():
    pause = Pacing(busy_share=0.1).pause_after(0.2, busy=True)
    assert 0.2 / (0.2 + pause) == 0.1 or abs(0.2 / (0.2 + pause) - 0.1) < 1e-9


def test_when_the_writes_stop_the_consumer_runs_flat_out_to_catch_up():
    assert Pacing(busy_share=0.1).pause_after(0.2, busy=False) == 0.0
    assert Pacing(busy_share=1.0).pause_after(0.2, busy=True) == 0.0


def test_one_slow_step_never_idles_the_consumer_for_long():
    assert Pacing(busy_share=0.01).pause_after(60, busy=True) == MAX_PAUSE_SECONDS


def test_durations_read_as_seconds():
    assert duration_seconds("PT1H30M") == 5400
    assert duration_seconds("PT0.5S") == 0.5
    assert duration_seconds("P1DT1S") == 86401
    assert duration_seconds("P2W") == 14 * 86400
    assert duration_seconds("P") is None
    assert duration_seconds("1 hour") is None
    assert duration_seconds(None) is None


def test_the_write_path_stays_busy_a_moment_after_its_writes_finish():
    from analytics.pacing import InFlightWrites

    writes = InFlightWrites()
    assert not writes.busy()
    writes.update({1, 2})
    assert writes.busy()
    writes.difference_update({1, 2})
    assert writes.busy(within=60)  # between two requests of a burst
    assert not writes.busy(within=0)


class Paused(Pacer):
    """A pacer on a clock the test moves, recording its pauses instead of waiting."""

    def __init__(self, busy: bool):
        self.now = 0.0
        self.pauses: list[float] = []
        super().__init__(Pacing(busy_share=0.1), lambda: busy, clock=lambda: self.now)

    async def pause(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


async def test_each_piece_of_work_is_paced_for_itself_while_writes_are_in_flight():
    pacer = Paused(busy=True)
    for worked in (0.2, 0.05):
        pacer.now += worked
        await pacer.breathe()
    assert pacer.pauses == pytest.approx([1.8, 0.45])  # 9 times the work: a tenth of the time


async def test_an_idle_wait_is_not_work_and_an_idle_write_path_is_not_paced():
    pacer = Paused(busy=True)
    pacer.now += 5.0  # waiting for statements
    pacer.restart()
    pacer.now += 0.1
    await pacer.breathe()
    assert pacer.pauses == pytest.approx([0.9])
    idle = Paused(busy=False)
    idle.now += 0.1
    await idle.breathe()
    assert idle.pauses == []


async def test_outside_a_paced_consumer_breathing_does_nothing():
    pacer = Paused(busy=True)
    await breathe()  # no pacer in this task: `catch_up` and tests run flat out
    token = PACER.set(pacer)
    try:
        pacer.now += 0.1
        await breathe()
    finally:
        PACER.reset(token)
    assert pacer.pauses == pytest.approx([0.9])


def test_a_slow_chunk_makes_the_next_one_smaller_down_to_a_floor_and_back_up_to_the_cap():
    assert next_chunk(100, took=1.0) == 10  # 0.1 s at this pace
    assert next_chunk(100, took=0.4) == 25
    assert next_chunk(10, took=10.0) == MIN_CHUNK
    assert next_chunk(25, took=0.01) == WRITE_CHUNK


async def test_a_paced_consumer_keeps_its_chunk_size_while_busy_and_writes_full_chunks_idle():
    busy, idle = Paused(busy=True), Paused(busy=False)
    assert chunk_size() == WRITE_CHUNK  # not a paced consumer
    for pacer, expected in ((busy, 10), (idle, WRITE_CHUNK)):
        token = PACER.set(pacer)
        try:
            chunk_took(100, 1.0)
            assert chunk_size() == expected
        finally:
            PACER.reset(token)
