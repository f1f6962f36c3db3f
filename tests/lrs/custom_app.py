"""An app with settings of the test's choosing (the `client` fixture uses the defaults)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from lrs.app import create_app
from lrs.services import Services
from lrs.settings import Settings
from lrs.storage.embedded import EmbeddedDatabase
from tests.conftest import basic


@dataclasses.dataclass
class Running:
    app: Any
    services: Services

    async def credential(self, *scopes: str, name: str = "tester") -> dict[str, str]:
        key, secret = await self.services.credentials.create(name, list(scopes or ("all",)))
        return {"Authorization": basic(key, secret)}

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://lrs.test",
            headers={"X-Experience-API-Version": "2.0.0", **(headers or {})},
        )


@contextlib.asynccontextmanager
async def running_app(
    mongo_server: EmbeddedDatabase, settings: Settings, **changes: Any
) -> AsyncIterator[Running]:
    app = create_app(dataclasses.replace(settings, **changes), mongo_server.uri)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["services"]
        try:
            yield Running(manager.app, services)
        finally:
            await services.client.drop_database(settings.database)
