"""SequenceClock: the one order every statement is stored, queried and forwarded in.

Its guarantees, whatever the wall clock does: every number it hands out is larger than the
one before, carries the process's node number, and its millisecond part (the statement's
`stored`) never lags the clock's latest reading and runs ahead only by the milliseconds it
had to borrow.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from lrs.storage.sequence import (
    COUNTER_BITS,
    COUNTER_MAX,
    NODE_BITS,
    SequenceClock,
    ms_of,
)

PER_MS = COUNTER_MAX + 1
T0 = 1_764_000_000_000  # a millisecond in December 2025


class FakeClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def node_of(seq: int) -> int:
    return seq & ((1 << NODE_BITS) - 1)


def counter_of(seq: int) -> int:
    return (seq >> NODE_BITS) & ((1 << COUNTER_BITS) - 1)


def strictly_increasing(seqs: list[int]) -> bool:
    return all(a < b for a, b in zip(seqs, seqs[1:], strict=False))


def test_one_millisecond_holds_4096_numbers_in_order():
    clock = SequenceClock(7, now_ms=FakeClock(T0))
    seqs = clock.take(PER_MS)
    assert strictly_increasing(seqs)
    assert {ms_of(s) for s in seqs} == {T0}
    assert [counter_of(s) for s in seqs] == list(range(PER_MS))


def test_more_than_4096_in_one_millisecond_borrow_the_next_milliseconds():
    clock = SequenceClock(7, now_ms=FakeClock(T0))
    seqs = clock.take(3 * PER_MS + 5)
    assert strictly_increasing(seqs)
    assert len(set(seqs)) == len(seqs)
    assert [ms_of(s) for s in seqs[PER_MS - 1 : PER_MS + 1]] == [T0, T0 + 1]
    assert ms_of(seqs[-1]) == T0 + 3
    assert {node_of(s) for s in seqs} == {7}


def test_after_borrowing_the_clock_catching_up_continues_above_what_was_borrowed():
    now = FakeClock(T0)
    clock = SequenceClock(7, now_ms=now)
    borrowed = clock.take(PER_MS + 1)[-1]
    assert (ms_of(borrowed), counter_of(borrowed)) == (T0 + 1, 0)
    now.ms = T0 + 1  # the clock reaches the borrowed millisecond
    following = clock.take(3)
    assert strictly_increasing([borrowed, *following])
    assert [(ms_of(s), counter_of(s)) for s in following] == [(T0 + 1, n) for n in (1, 2, 3)]
    now.ms = T0 + 2
    assert [(ms_of(s), counter_of(s)) for s in clock.take(2)] == [(T0 + 2, 0), (T0 + 2, 1)]


def test_a_clock_stepping_back_never_makes_a_number_go_back():
    now = FakeClock(T0)
    clock = SequenceClock(7, now_ms=now)
    before = clock.take(10)
    now.ms = T0 - 60_000  # NTP steps the clock a minute back
    during = clock.take(2 * PER_MS)
    assert strictly_increasing(before + during)
    assert min(ms_of(s) for s in during) == T0  # stored times stay where they were
    now.ms = T0 + 5
    assert ms_of(clock.next()) == T0 + 5  # and follow the clock again once it is past


def test_the_node_number_keeps_two_processes_apart_in_the_same_millisecond():
    first = SequenceClock(1, now_ms=FakeClock(T0)).take(100)
    second = SequenceClock(2, now_ms=FakeClock(T0)).take(100)
    assert not set(first) & set(second)
    assert SequenceClock(256 + 3).node == 3


@settings(max_examples=40)
@given(
    readings=st.lists(
        st.one_of(st.integers(T0 - 10, T0 + 10), st.integers(1, T0 * 2)), min_size=1, max_size=12
    ),
    burst=st.integers(1, PER_MS + 1),
)
def test_whatever_the_clock_reads_numbers_rise_and_stored_time_tracks_the_clock(readings, burst):
    now = FakeClock(readings[0])
    clock = SequenceClock(9, now_ms=now)
    seqs: list[int] = []
    latest = 0
    for reading in readings:
        now.ms = reading
        latest = max(latest, reading)
        batch = clock.take(burst)
        seqs += batch
        assert ms_of(batch[-1]) >= latest  # never behind the clock's latest reading
        assert ms_of(batch[-1]) <= latest + len(seqs) // PER_MS  # ahead only by what it borrowed
    assert strictly_increasing(seqs)
    assert {node_of(s) for s in seqs} == {9}
