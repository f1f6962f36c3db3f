"""Retry schedule (pure) and the status table."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from forwarders.delivery.outcome import Dead, Delivered, EndpointGone, RetryLater, classify
from forwarders.delivery.schedule import DEFAULT_POLICY, RetryPolicy, next_delay, parse_schedule


def test_the_default_schedule_spans_about_a_day():
    total = sum(DEFAULT_POLICY.delays)
    assert 20 * 3600 <= total <= 30 * 3600
    assert DEFAULT_POLICY.delays[0] == 5.0
    assert list(DEFAULT_POLICY.delays) == sorted(DEFAULT_POLICY.delays)


def test_delays_grow_exponentially_within_the_jitter():
    rng = random.Random(1)
    for attempt, base in enumerate(DEFAULT_POLICY.delays, start=1):
        for _ in range(50):
            delay = next_delay(attempt, None, rng)
            assert delay is not None and base * 0.8 <= delay <= base * 1.2


def test_jitter_spreads_retries():
    rng = random.Random(2)
    assert len({next_delay(1, None, rng) for _ in range(20)}) == 20


def test_no_delay_after_the_last_attempt():
    assert next_delay(DEFAULT_POLICY.max_attempts, None, random.Random()) is None
    assert next_delay(DEFAULT_POLICY.max_attempts, 5.0, random.Random()) is None


def test_retry_after_replaces_the_computed_delay_within_its_bound():
    policy = RetryPolicy(delays=(5.0, 10.0), max_retry_after=600)
    assert next_delay(1, 120.0, random.Random(), policy) == 120.0
    assert next_delay(1, 0.0, random.Random(), policy) == 0.0
    assert next_delay(1, 10_000.0, random.Random(), policy) == 600


def test_a_configured_schedule():
    assert parse_schedule("5s, 5m,2h,1d,30") == (5.0, 300.0, 7200.0, 86400.0, 30.0)
    with pytest.raises(ValueError):
        parse_schedule("5 minutes")


NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Delivered()),
        (204, Delivered()),
        (299, Delivered()),
        (301, RetryLater(None, "301 redirect (not followed)")),
        (302, RetryLater(None, "302 redirect (not followed)")),
        (410, EndpointGone("410 Gone: the endpoint was removed")),
        (400, Dead("400 response")),
        (401, Dead("401 response")),
        (404, Dead("404 response")),
        (413, Dead("413 response")),
        (408, RetryLater(None, "408 response")),
        (429, RetryLater(None, "429 response")),
        (500, RetryLater(None, "500 response")),
        (503, RetryLater(None, "503 response")),
        (100, Dead("100 response")),
    ],
)
def test_the_status_table(status, expected):
    assert classify(status, now=NOW) == expected


def test_no_response_is_retried():
    assert classify(None, error="ReadTimeout") == RetryLater(None, "ReadTimeout")


def test_retry_after_in_seconds_and_as_a_date():
    assert classify(429, retry_after="30", now=NOW) == RetryLater(30.0, "429 response")
    date = format_datetime(NOW + timedelta(minutes=2), usegmt=True)
    assert classify(503, retry_after=date, now=NOW) == RetryLater(120.0, "503 response")
    past = format_datetime(NOW - timedelta(minutes=2), usegmt=True)
    assert classify(503, retry_after=past, now=NOW) == RetryLater(0.0, "503 response")
    assert classify(429, retry_after="soon", now=NOW) == RetryLater(None, "429 response")
    assert classify(429, retry_after="\u00b2", now=NOW) == RetryLater(None, "429 response")
    assert classify(429, retry_after="Wed, 21 Oct 2015 07:28:00", now=NOW).after == 0.0
