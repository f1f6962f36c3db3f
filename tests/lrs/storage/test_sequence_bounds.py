"""Every timestamp -> seq conversion lands in the int64 the database stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lrs.storage.sequence import MS_SHIFT, SEQ_MAX, seq_at, since_bound, until_bound
from statements.formats import parse_timestamp, utc_instant

FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bound", [seq_at, since_bound, until_bound])
def test_bounds_beyond_2248_are_the_largest_seq(bound):
    assert bound(FAR_FUTURE) == SEQ_MAX


@pytest.mark.parametrize("bound", [seq_at, since_bound, until_bound])
def test_bounds_before_the_epoch_are_zero(bound):
    assert bound(FAR_PAST) == 0


def test_bounds_in_range_keep_the_millisecond():
    moment = datetime(2025, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    assert seq_at(moment) == ms << MS_SHIFT
    assert since_bound(moment) == until_bound(moment) == (ms + 1) << MS_SHIFT


def test_instants_outside_datetime_clamp_to_its_ends():
    late = parse_timestamp("9999-12-31T23:59:59-23:00")
    early = parse_timestamp("0001-01-01T00:00:00+23:00")
    assert late is not None and early is not None
    assert utc_instant(late) == datetime.max.replace(tzinfo=UTC)
    assert utc_instant(early) == datetime.min.replace(tzinfo=UTC)
    assert utc_instant(FAR_FUTURE) == FAR_FUTURE
