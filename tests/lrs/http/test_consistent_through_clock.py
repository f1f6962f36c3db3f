"""The Consistent-Through time: ISO 8601 UTC with milliseconds, exactly as `strftime` makes it,
whether or not the second changed since the last answer."""

from __future__ import annotations

from datetime import UTC, datetime

from lrs.http.middleware import MillisecondClock


def reference(seconds: float) -> str:
    moment = datetime.fromtimestamp(int(seconds * 1000) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_times_within_a_second_and_across_seconds_match_strftime():
    times = [1764806400.0, 1764806400.0009, 1764806400.999, 1764806401.0, 1764806401.5]
    times += [1767225599.999, 1767225600.001]  # across a year's end
    feed = iter(times)
    clock = MillisecondClock(now=lambda: next(feed))
    assert [clock() for _ in times] == [reference(t) for t in times]
    assert reference(1767225599.999) == "2025-12-31T23:59:59.999Z"


def test_a_clock_going_back_a_second_is_formatted_anew():
    feed = iter([1764806401.2, 1764806400.7])
    clock = MillisecondClock(now=lambda: next(feed))
    assert [clock(), clock()] == [reference(1764806401.2), reference(1764806400.7)]
