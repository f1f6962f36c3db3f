"""Fixtures for the forwarding tests: the database of the test, a real receiver, a fake
clock, workers and the admin service."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from forwarders.config import ForwardingSettings
from forwarders.delivery.schedule import RetryPolicy
from forwarders.service import ForwarderService
from forwarders.worker import Worker
from lrs.services import Services
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.receiver import Receiver

ADL = "http://adlnet.gov/expapi/verbs/"


class FakeClock:
    def __init__(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Back to the wall clock, in whole milliseconds (as the database stores times)."""
        now = datetime.now(UTC)
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(milliseconds=round(seconds * 1000))


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Iterator[Receiver]:
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
def db(services: Services) -> AsyncDatabase[dict[str, Any]]:
    return services.client[services.settings.database]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


FAST_POLICY = RetryPolicy(delays=(5.0, 20.0, 80.0), jitter=0.2)


@pytest.fixture
def forwarding_settings() -> ForwardingSettings:
    return ForwardingSettings(
        allow_private=True, policy=FAST_POLICY, poll_seconds=0.05, lease_seconds=30
    )


@pytest.fixture
async def make_worker(
    db: AsyncDatabase[dict[str, Any]], clock: FakeClock, forwarding_settings: ForwardingSettings
) -> AsyncIterator[Callable[..., Worker]]:
    made: list[Worker] = []

    def make(**overrides: Any) -> Worker:
        settings = overrides.pop("settings", forwarding_settings)
        worker = Worker(
            db,
            settings,
            statements=MongoStatementSource(db),
            clock=overrides.pop("clock", clock),
            rng=random.Random(7),
            **overrides,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.client.aclose()


@pytest.fixture
async def worker(make_worker: Callable[..., Worker]) -> Worker:
    return make_worker()


@pytest.fixture
async def admin(db: AsyncDatabase[dict[str, Any]], clock: FakeClock) -> ForwarderService:
    """Shares the workers' clock (create forwarders before advancing it)."""
    service = ForwarderService(
        db, statements=MongoStatementSource(db), allow_private=True, clock=clock
    )
    await service.ensure_indexes()
    return service


@pytest.fixture
def make_forwarder(admin: ForwarderService, receiver: Receiver) -> Callable[..., Any]:
    """Create a forwarder posting to `receiver` at `path`; the receiver verifies its secret."""

    async def make(path: str = "hook", **spec: Any) -> dict[str, Any]:
        created = await admin.create_forwarder({"name": path, "url": receiver.url(path), **spec})
        if created.secret is not None:
            receiver.verify_with(path, created.secret)
        return created.as_dict()

    return make
