"""What the lifespan builds once and every request uses (no module-level state)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from analytics.service import Analytics
from connectors.service import ConnectorService
from forwarders.config import ForwardingSettings
from forwarders.identity.service import IdentityService
from forwarders.service import ForwarderService
from lrs.audit import AuditLog
from lrs.auth.credential_store import MongoCredentialStore
from lrs.metrics import Metrics
from lrs.settings import Settings
from lrs.storage.protocols import ActivityStore, DocumentStore, StatementStore
from lrs.storage.sequence import SequenceClock, ms_of
from lrs.storage.statement_source import MongoStatementSource
from statements.types import SpecVersion
from statements.validate import StatementValidator


@dataclass
class Services:
    settings: Settings
    client: AsyncMongoClient[dict[str, Any]]
    statements: StatementStore
    credentials: MongoCredentialStore
    validators: dict[SpecVersion, StatementValidator]
    clock: SequenceClock
    documents: DocumentStore
    activities: ActivityStore
    forwarders: ForwarderService
    audit: AuditLog
    identities: IdentityService
    analytics: Analytics
    metrics: Metrics = field(default_factory=Metrics)
    in_flight: set[int] = field(default_factory=set)
    """Sequence numbers handed out to writes not yet acknowledged (for Consistent-Through)."""
    forwarding: ForwardingSettings = field(default_factory=ForwardingSettings)
    connectors: ConnectorService | None = None
    """Conferencing connectors (set by the lifespan once the services exist: they write back
    through them)."""

    def consistent_through_ms(self) -> int:
        """Every statement stored up to this instant is visible to queries."""
        if self.in_flight:
            return ms_of(min(self.in_flight)) - 1
        return time.time_ns() // 1_000_000


def forwarder_service(
    db: AsyncDatabase[dict[str, Any]], forwarding: ForwardingSettings
) -> ForwarderService:
    """The forwarders' admin service, wired to this LRS's statements (API and CLI alike)."""
    return ForwarderService(
        db,
        statements=MongoStatementSource(db),
        alias_domains=forwarding.alias_domains,
        secrets_key=forwarding.secrets_key,
        allow_private=forwarding.allow_private,
    )


def identity_service(
    db: AsyncDatabase[dict[str, Any]], forwarding: ForwardingSettings, max_import_bytes: int
) -> IdentityService:
    """HRIS identity resolution, wired to this LRS's statements (API and CLI alike)."""
    return IdentityService(
        db,
        statements=MongoStatementSource(db),
        alias_domains=forwarding.alias_domains,
        secrets_key=forwarding.secrets_key,
        max_import_bytes=max_import_bytes,
    )
