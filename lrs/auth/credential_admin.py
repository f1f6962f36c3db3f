"""Creating and revoking credentials, audited: one place for the admin API and the CLI.

Every change writes an audit entry naming who (a credential key, or `cli`), what, which key
and from where. The secret is returned to the caller once and never recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo import AsyncMongoClient

from lrs.audit import AuditLog
from lrs.auth.credential_store import MongoCredentialStore
from lrs.settings import Settings

CREATED = "credential.created"
REVOKED = "credential.revoked"


class CredentialAdmin:
    def __init__(self, store: MongoCredentialStore, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit

    async def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        actor: str,
        source: str | None,
        key: str | None = None,
        secret: str | None = None,
    ) -> tuple[str, str]:
        """(key, secret); raises ValueError for unknown scopes, CredentialExists for a key taken."""
        key, secret = await self.store.create(name, scopes, key=key, secret=secret)
        await self.audit.record(
            actor=actor,
            action=CREATED,
            target=key,
            source=source,
            details={"name": name, "scopes": list(dict.fromkeys(scopes))},
        )
        return key, secret

    async def revoke(self, key: str, *, actor: str, source: str | None) -> bool:
        revoked = await self.store.revoke(key)
        await self.audit.record(
            actor=actor,
            action=REVOKED,
            target=key,
            source=source,
            outcome="ok" if revoked else "not_found",
        )
        return revoked


def authority_home(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.port}"


@contextlib.asynccontextmanager
async def credential_admin(settings: Settings, uri: str) -> AsyncIterator[CredentialAdmin]:
    """A CredentialAdmin on its own client, for commands that run outside the server."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, tz_aware=True, w="majority", journal=True
    )
    try:
        db = client[settings.database]
        audit = AuditLog(db)
        await audit.ensure_indexes()
        store = MongoCredentialStore(db, authority_home=authority_home(settings))
        yield CredentialAdmin(store, audit)
    finally:
        await client.close()
