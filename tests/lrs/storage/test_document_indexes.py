"""Every document operation is served by an index (issue: documents in O(log n)).

SecantusDB serves a filter from an index only when the index holds every field of the
filter; one field outside it (the `rev` of a compare-and-set, the `updated` of a `since`
listing) turns the operation into a collection scan. So every filter the document store
sends must have the field set of some index's prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from lrs.storage.indexes import ensure_indexes
from lrs.storage.mongo_documents import MongoDocumentStore
from statements.documents import DocumentContent, DocumentKey, DocumentScope, StoredDocument
from statements.errors import PreconditionFailed


class Filters(monitoring.CommandListener):
    """The filters of every read, update and delete sent to the `documents` collection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if command.get(event.command_name) != "documents":
            return
        if event.command_name == "find":
            self.seen.append(("find", command.get("filter", {})))
        for update in command.get("updates", ()):
            self.seen.append(("update", update["q"]))
        for delete in command.get("deletes", ()):
            self.seen.append(("delete", delete["q"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def observed(mongo_server, settings):
    filters = Filters()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, tz_aware=True, event_listeners=[filters]
    )
    db = client[settings.database]
    await ensure_indexes(db)
    yield MongoDocumentStore(db), filters, db
    await client.drop_database(settings.database)
    await client.close()


def _put(content: bytes):
    def plan(current: StoredDocument | None) -> DocumentContent:
        return DocumentContent(content, "application/json")

    return plan


def _if_match(etag: str):
    def check(current: StoredDocument | None) -> None:
        if current is None or current.etag != etag:
            raise PreconditionFailed("the ETag does not match")

    return check


async def _index_prefixes(db) -> list[list[str]]:
    prefixes = []
    async for index in await db["documents"].list_indexes():
        fields = list(index["key"])
        prefixes += [fields[:n] for n in range(1, len(fields) + 1)]
    return prefixes


async def test_every_document_operation_filters_on_an_index_prefix(observed):
    store, filters, db = observed
    scope = DocumentScope("state", "http://example.com/a", "mbox:mailto:a@example.com", None)
    key = DocumentKey(scope, "bookmark")

    first = await store.write_document(key, _put(b'{"a": 1}'), needs_content=False)
    await store.write_document(key, _put(b'{"a": 2}'), needs_content=True)
    await store.get_document(key)
    await store.list_document_ids(scope, since=None)
    await store.list_document_ids(scope, since=first.updated)
    with pytest.raises(PreconditionFailed):
        await store.delete_document(key, _if_match(first.etag))
    current = await store.get_document(key)
    assert current is not None
    await store.delete_document(key, _if_match(current.etag))
    await store.delete_document(key, None)
    await store.delete_documents(scope)

    prefixes = await _index_prefixes(db)
    unindexed = [
        (operation, sorted(match))
        for operation, match in filters.seen
        if not any(sorted(match) == sorted(prefix) for prefix in prefixes)
    ]
    assert {operation for operation, _ in filters.seen} == {"find", "update", "delete"}
    assert unindexed == []


async def test_listing_since_a_time_returns_only_documents_written_after_it(observed):
    store, _, _ = observed
    scope = DocumentScope("activity_profile", "http://example.com/a")
    older = await store.write_document(DocumentKey(scope, "old"), _put(b"{}"), needs_content=False)
    newer = await store.write_document(DocumentKey(scope, "new"), _put(b"{}"), needs_content=False)

    assert await store.list_document_ids(scope, since=older.updated) == (["new"], newer.updated)
    assert await store.list_document_ids(scope, since=newer.updated) == ([], None)
    before = older.updated - timedelta(seconds=1)
    ids, latest = await store.list_document_ids(scope, since=before)
    assert sorted(ids) == ["new", "old"]
    assert latest == newer.updated
    assert latest <= datetime.now(UTC)
