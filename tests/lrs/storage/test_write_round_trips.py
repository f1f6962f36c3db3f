"""What one write asks of the database besides its insert: every lookup is a round trip and
a share of the database's time, paid per group of single statements or per batch."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from lrs.auth.scopes import Credential
from lrs.ingest import _new_statement
from lrs.storage.mongo_statements import MongoStatementStore
from lrs.storage.sequence import SequenceClock

CREDENTIAL = Credential("k", frozenset({"all"}), {"mbox": "mailto:lrs@example.com"})


class Reads(monitoring.CommandListener):
    def __init__(self) -> None:
        self.filters: list[list[str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command["find"] == "statements":
            self.filters.append(sorted(event.command.get("filter", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(mongo_server, services):
    """The store, on a client that records every read of `statements` it sends."""
    reads = Reads()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, w="majority", journal=True, event_listeners=[reads]
    )
    yield MongoStatementStore(client[services.statements.db.name]), reads
    await client.close()


def prepared(statements: list[dict[str, Any]]) -> list[Any]:
    seqs = SequenceClock(node=7).take(len(statements))
    return [
        _new_statement(s, q, CREDENTIAL, "2.0.0") for s, q in zip(statements, seqs, strict=True)
    ]


async def test_a_group_of_plain_single_statements_reads_once_after_its_insert(
    watched, make_statement
):
    store, reads = watched
    members = prepared([make_statement(id=str(uuid.uuid4())) for _ in range(3)])
    await asyncio.gather(*(store.insert_statements([m], []) for m in members))
    assert store.singles.groups == 1
    assert reads.filters == [["keys"]]  # the statements targeting the new ones


async def test_a_batch_reads_its_stored_copies_before_and_its_targeters_after(
    watched, make_statement
):
    store, reads = watched
    batch = prepared([make_statement(id=str(uuid.uuid4())) for _ in range(3)])
    await store.insert_statements(batch, [])
    assert reads.filters == [["_id"], ["keys"]]


async def test_a_repeated_single_statement_is_found_equivalent_by_the_insert_itself(
    watched, make_statement
):
    store, reads = watched
    statement = make_statement(id=str(uuid.uuid4()))
    await store.insert_statements(prepared([statement]), [])
    reads.filters.clear()
    assert await store.insert_statements(prepared([statement]), []) == [statement["id"]]
    assert reads.filters == [["_id"]]  # its stored copy, read once the insert refused it
