"""Storage seams, one Protocol per aggregate. One implementation each (MongoDB), no plugins.

They take and return domain types; `_id`, index sub-documents and query operators are built
only inside `mongo_*.py`, from typed values, so user data never becomes a field path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lrs.auth.scopes import Credential
from statements.documents import DocumentContent, DocumentKey, DocumentScope, StoredDocument
from statements.types import (
    Attachment,
    StatementIndex,
    StatementPage,
    StatementQuery,
    StoredStatement,
)
from statements.vocabulary import Canonical


@dataclass(frozen=True, slots=True)
class NewStatement:
    """A validated, prepared statement ready to store."""

    id: str
    seq: int
    statement: dict[str, Any]
    raw: str
    index: StatementIndex
    ref: str | None
    """The id this statement targets when its object is a StatementRef (voiding or not)."""
    authority_key: str | None
    attachment_hashes: tuple[str, ...] = ()
    canonical: Canonical | None = None
    """What the vocabulary in force made of it (stored beside it, as `canon`)."""


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    key: str
    name: str
    scopes: tuple[str, ...]
    created: str
    revoked: bool


class StatementStore(Protocol):
    async def insert_statements(
        self, statements: Sequence[NewStatement], attachments: Sequence[Attachment]
    ) -> list[str]: ...

    async def get_statement(self, statement_id: str, *, voided: bool) -> StoredStatement | None: ...

    async def find_statements(
        self, query: StatementQuery, *, authority_key: str | None
    ) -> StatementPage: ...

    async def get_attachments(self, hashes: Sequence[str]) -> list[Attachment]: ...


class CredentialStore(Protocol):
    async def create(
        self, name: str, scopes: Sequence[str], *, key: str | None = None, secret: str | None = None
    ) -> tuple[str, str]: ...

    async def authenticate(self, key: str, secret: str) -> Credential | None: ...

    async def list(self) -> list[CredentialRecord]: ...

    async def revoke(self, key: str) -> bool: ...


class DocumentStore(Protocol):
    """State and profile documents; writes apply a pure plan atomically (compare-and-set)."""

    async def get_document(
        self, key: DocumentKey, *, with_content: bool = True
    ) -> StoredDocument | None: ...

    async def list_document_ids(
        self, scope: DocumentScope, since: datetime | None
    ) -> tuple[list[str], datetime | None]: ...

    async def write_document(
        self,
        key: DocumentKey,
        plan: Callable[[StoredDocument | None], DocumentContent],
        *,
        needs_content: bool,
    ) -> StoredDocument: ...

    async def delete_document(
        self, key: DocumentKey, check: Callable[[StoredDocument | None], None] | None
    ) -> None: ...

    async def delete_documents(self, scope: DocumentScope) -> int: ...


class ActivityStore(Protocol):
    async def record_definitions(
        self, credential: Credential, statements: Sequence[NewStatement]
    ) -> int: ...

    async def get_activity(self, activity_id: str) -> dict[str, Any]: ...
