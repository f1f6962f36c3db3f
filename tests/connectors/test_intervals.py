"""Presence: rejoins and overlapping devices are counted once."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.intervals import merge, pair, seconds


def t(minute: int) -> datetime:
    return datetime(2026, 12, 1, 10, 0, tzinfo=UTC).replace(minute=minute)


START, END = t(0), t(59)


def test_a_rejoin_adds_only_the_time_present():
    moves = [(t(0), "joined"), (t(20), "left"), (t(25), "joined"), (t(55), "left")]
    assert seconds(pair(moves, START, END)) == 50 * 60


def test_an_overlapping_second_device_counts_once():
    moves = [(t(0), "joined"), (t(10), "joined"), (t(30), "left"), (t(40), "left")]
    assert seconds(pair(moves, START, END)) == 40 * 60


def test_a_join_without_a_leave_closes_at_the_meeting_end():
    assert pair([(t(50), "joined")], START, END) == [(t(50), END)]


def test_a_leave_without_a_join_opens_at_the_meeting_start():
    assert pair([(t(5), "left")], START, END) == [(START, t(5))]


def test_moves_out_of_order_are_sorted_first():
    moves = [(t(30), "left"), (t(10), "joined")]
    assert pair(moves, START, END) == [(t(10), t(30))]


def test_merge_joins_touching_and_overlapping_intervals():
    assert merge([(t(20), t(30)), (t(0), t(10)), (t(10), t(15)), (t(25), t(40))]) == [
        (t(0), t(15)),
        (t(20), t(40)),
    ]


def test_a_second_leave_after_a_deduplicated_join_opens_at_that_join_not_the_start():
    # two devices joined in the same second: one join event, two leaves
    moves = [(t(30), "joined"), (t(40), "left"), (t(50), "left")]
    assert seconds(pair(moves, START, END)) == 20 * 60
