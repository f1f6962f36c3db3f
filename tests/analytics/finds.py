"""The finds a client sends to the rollup collections, recorded by a command listener."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from analytics.rollups import RollupStore
from analytics.service import Analytics


class RollupFinds(monitoring.CommandListener):
    """Each `find` sent to an `analytics_*` collection: (collection, filter), in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def to(self, collection: str) -> list[dict[str, Any]]:
        return [query for name, query in self.sent if name == collection]

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command["find"].startswith("analytics_"):
            self.sent.append((event.command["find"], event.command["filter"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.asynccontextmanager
async def observed_rollups(
    analytics: Analytics, uri: str, database: str
) -> AsyncIterator[RollupFinds]:
    """`analytics` reading its rollups through a client whose finds are recorded."""
    reads = RollupFinds()
    observed: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, event_listeners=[reads])
    kept = analytics.rollups
    try:
        analytics.rollups = RollupStore(observed[database])
        yield reads
    finally:
        analytics.rollups = kept
        await observed.close()
