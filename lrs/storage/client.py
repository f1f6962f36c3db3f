"""The one way every process (API, worker, CLI) opens MongoDB: the same durability options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandListener


def mongo_client(
    uri: str, listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[dict[str, Any]]:
    """Acknowledged means durable: majority write concern with the journal; datetimes UTC."""
    return AsyncMongoClient(
        uri, tz_aware=True, w="majority", journal=True, event_listeners=list(listeners)
    )
