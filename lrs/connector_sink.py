"""Connectors write through the same ingest path as POST /xapi/statements.

Each connector writes as its own credential: the statements' authority is the connector
(an account on this LRS named `connector:<id>`), with only `statements/write`, so nothing a
provider sends can define activities or reach anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.model import Connector
from lrs.auth.scopes import STATEMENTS_WRITE, Credential
from lrs.ingest import store_statements
from lrs.services import Services
from statements.types import SpecVersion

VERSION: SpecVersion = "2.0.0"


def connector_credential(services: Services, connector: Connector) -> Credential:
    key = f"connector:{connector.id}"
    return Credential(
        key=key,
        scopes=frozenset({STATEMENTS_WRITE}),
        authority=services.credentials.authority_for(
            key, f"{connector.kind} connector {connector.name}"
        ),
        name=connector.name,
    )


class IngestSink:
    """The `connectors.processor.StatementSink` of this LRS (batches within the batch limit)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, connector: Connector, statements: Sequence[dict[str, Any]]) -> None:
        credential = connector_credential(self.services, connector)
        size = self.services.settings.max_batch_statements
        for start in range(0, len(statements), size):
            batch = list(statements[start : start + size])
            await store_statements(self.services, credential, VERSION, batch)
