"""A window is covered by whole months, whole weeks and edge days, each day exactly once."""

from datetime import date, timedelta

import pytest

from analytics.periods import DAY, MONTH, WEEK, next_period, period_start, periods_of, pieces


def days_of(covering):
    found = []
    for interval, start in covering:
        day = start
        while day < next_period(start, interval):
            found.append(day)
            day = next_period(day, DAY)
    return found


def every_day(since, until):
    first, last = date.fromisoformat(since), date.fromisoformat(until)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days)]


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2025-02-01", "2025-04-01"),
        ("2025-01-29", "2025-04-09"),
        ("2025-12-30", "2026-01-02"),
        ("2024-02-26", "2024-03-04"),
        ("2025-03-03", "2025-03-10"),
        ("2025-01-01", "2026-01-01"),
    ],
)
def test_the_pieces_cover_each_day_of_the_window_once(since, until):
    assert days_of(pieces(since, until)) == every_day(since, until)


def test_a_two_month_window_reads_two_month_documents():
    assert pieces("2025-02-01", "2025-04-01") == [(MONTH, "2025-02-01"), (MONTH, "2025-03-01")]


def test_ragged_edges_take_days_around_whole_months():
    assert pieces("2025-01-22", "2025-04-16") == [  # a Wednesday to a Wednesday
        *[(DAY, f"2025-01-{d}") for d in range(22, 32)],
        (MONTH, "2025-02-01"),
        (MONTH, "2025-03-01"),
        *[(DAY, f"2025-04-{d:02}") for d in range(1, 16)],
    ]


def test_a_year_is_twelve_months():
    assert len(pieces("2025-01-01", "2026-01-01")) == 12


def test_a_day_counts_in_its_day_its_monday_week_and_its_month():
    assert periods_of("2025-03-05") == [
        (DAY, "2025-03-05"),
        (WEEK, "2025-03-03"),
        (MONTH, "2025-03-01"),
    ]


@pytest.mark.parametrize("interval", [DAY, MONTH])
def test_a_whole_day_or_month_is_its_own_single_piece(interval):
    """What a series page relies on to skip `pieces` for the periods inside its window."""
    first = date(2023, 12, 1)
    for offset in range(0, 800, 3):
        start = period_start((first + timedelta(days=offset)).isoformat(), interval)
        assert pieces(start, next_period(start, interval)) == [(interval, start)]
