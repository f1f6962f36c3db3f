"""The consumer's lease: held by one consumer at a time, and renewed by a write only once a
third of it has passed (an idle consumer steps twice a second)."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.consumer import LEASE, RENEW_AFTER, Consumer, LeaseLost
from analytics.rollups import RollupStore
from lrs.storage.analytics_source import MongoAnalyticsSource, horizon


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def consumer_of(services, clock: Clock) -> Consumer:
    db = services.client[services.settings.database]
    return Consumer(
        db,
        MongoAnalyticsSource(db),
        RollupStore(db),
        lambda: horizon(services.settings, services.in_flight),
        clock=clock,
    )


async def lease_until(consumer: Consumer) -> datetime:
    state = await consumer.state.find_one({"_id": "cursor"})
    assert state is not None
    until: datetime = state["lease_until"]
    return until.replace(tzinfo=UTC) if until.tzinfo is None else until


def to_the_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def test_an_idle_consumer_writes_its_lease_only_when_a_third_of_it_has_passed(services):
    clock = Clock()
    consumer = consumer_of(services, clock)
    assert await consumer.step() == 0  # nothing to count: idle
    taken = await lease_until(consumer)
    assert taken == to_the_millisecond(clock.now + LEASE)

    seconds = int(RENEW_AFTER.total_seconds())
    for _ in range(seconds - 1):
        clock.now += timedelta(seconds=1)
        assert await consumer.step() == 0
        assert await lease_until(consumer) == taken  # read, not written

    clock.now += timedelta(seconds=1.5)
    assert await consumer.step() == 0
    assert await lease_until(consumer) == to_the_millisecond(clock.now + LEASE)


async def test_a_lease_left_unrenewed_is_still_held_against_another_consumer(services):
    clock = Clock()
    holder, other = consumer_of(services, clock), consumer_of(services, clock)
    await holder.step()
    clock.now += RENEW_AFTER - timedelta(seconds=1)  # not renewed since it was taken
    await holder.step()
    with pytest.raises(LeaseLost):
        await other.step()

    clock.now += LEASE  # the holder stopped stepping: its lease lapses
    assert await other.step() == 0
    with pytest.raises(LeaseLost):
        await holder.step()


async def test_a_lease_made_to_lapse_in_the_store_is_renewed_by_a_write(services):
    """An operator (or a test) that sets the lease in the past is believed: the holder
    writes it again rather than trusting what it wrote last."""
    clock = Clock()
    consumer = consumer_of(services, clock)
    await consumer.step()
    lapsed = {"$set": {"lease_until": datetime(2000, 1, 1, tzinfo=UTC)}}
    await consumer.state.update_one({"_id": "cursor"}, lapsed)
    clock.now += timedelta(seconds=1)
    await consumer.step()
    assert await lease_until(consumer) == to_the_millisecond(clock.now + LEASE)
