"""Fixtures that start real things: one embedded database per session, a fresh database name
per test, and the real app behind an httpx client (lifespan included)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lrs.app import create_app
from lrs.services import Services
from lrs.settings import Settings
from lrs.storage.embedded import EmbeddedDatabase


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[EmbeddedDatabase]:
    database = EmbeddedDatabase(":memory:", cache_size="256M")
    database.start()
    yield database
    database.stop()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LRS_* setting leaks in from the machine running the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("LRS_"):
            monkeypatch.delenv(name)


TEST_HASH_COST = 2**4
"""scrypt's N for the tests' credentials: at the production 2**14, hashing a secret and then
verifying it took about 0.3 s of CPU per test (most of the suite's time); the scheme, the
salts and every check stay the same."""


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(
        database=f"t{uuid.uuid4().hex}",
        data_dir=tmp_path,
        public_url="http://lrs.test",
        secret_hash_cost=TEST_HASH_COST,
    )


@pytest.fixture
async def app_services(
    mongo_server: EmbeddedDatabase, settings: Settings
) -> AsyncIterator[tuple[Any, Services]]:
    app = create_app(settings, mongo_server.uri)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["services"]
        yield manager.app, services
        await services.client.drop_database(settings.database)


@pytest.fixture
def services(app_services: tuple[Any, Services]) -> Services:
    return app_services[1]


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


MakeCredentials = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_credentials(services: Services) -> MakeCredentials:
    """Create a real credential; returns headers that authenticate with it."""

    async def make(scopes: tuple[str, ...] = ("all",), name: str = "tester") -> dict[str, str]:
        key, secret = await services.credentials.create(name, list(scopes))
        return {"Authorization": basic(key, secret)}

    return make


@pytest.fixture
async def client(
    app_services: tuple[Any, Services], make_credentials: MakeCredentials
) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an all-scopes credential, speaking xAPI 2.0.0."""
    auth = await make_credentials(("all",))
    transport = httpx.ASGITransport(app=app_services[0])
    headers = {"X-Experience-API-Version": "2.0.0", **auth}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lrs.test", headers=headers
    ) as http:
        yield http


@pytest.fixture
def make_statement() -> Callable[..., dict[str, Any]]:
    """A valid, realistic statement; keyword arguments replace top-level properties."""

    def make(**overrides: Any) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
            "verb": {
                "id": "http://adlnet.gov/expapi/verbs/completed",
                "display": {"en-US": "completed"},
            },
            "object": {
                "objectType": "Activity",
                "id": "http://example.com/courses/xapi-101",
                "definition": {
                    "name": {"en-US": "xAPI 101"},
                    "type": "http://adlnet.gov/expapi/activities/course",
                },
            },
            "result": {"completion": True, "success": True, "score": {"scaled": 0.9}},
        }
        statement.update(overrides)
        return {k: v for k, v in statement.items() if v is not None}

    return make
