"""Storage seams, one Protocol per aggregate. One implementation each (MongoDB), no plugins.

`Services` holds the stores by these types, so a request handler reaches only what is
declared here, and mypy checks that each `Mongo*Store` satisfies its Protocol where the
lifespan builds it. They take and return domain types; `_id`, index sub-documents and query
operators are built only inside `mongo_*.py`, from typed values, so user data never becomes
a field path. Credentials have no Protocol here: their store belongs to `lrs.auth`, which
storage never imports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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


class StatementStore(Protocol):
    """Statements and their attachments: the write path inserts, the Statement and Agents
    resources read."""

    async def insert_statements(
        self, statements: Sequence[NewStatement], attachments: Sequence[Attachment]
    ) -> list[str]: ...

    async def get_statement(self, statement_id: str, *, voided: bool) -> StoredStatement | None: ...

    async def find_statements(
        self, query: StatementQuery, *, authority_key: str | None
    ) -> StatementPage: ...

    async def get_attachments(self, hashes: Sequence[str]) -> list[Attachment]: ...

    def scan_statements(
        self, query: StatementQuery, *, include_voided: bool = False
    ) -> AsyncIterator[StoredStatement]:
        """Every statement the query matches, in one pass (bulk readers: exports)."""
        ...


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
    """Activity definitions seen in trusted statements, for the Activities Resource."""

    async def record_definitions(self, statements: Sequence[NewStatement]) -> int: ...

    async def get_activity(self, activity_id: str) -> dict[str, Any]: ...
