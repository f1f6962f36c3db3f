"""`scan_statements` (bulk readers) returns what paging `find_statements` returns."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from lrs.storage import mongo_statements
from statements.types import StatementQuery

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"


async def paged(store, query):
    ids, after = [], None
    while True:
        page = await store.find_statements(
            replace(query, limit=3, ascending=True, after=after), authority_key=None
        )
        ids += [s.id for s in page.statements]
        if page.more_after is None:
            return ids
        after = page.more_after


async def scanned(store, query, **options):
    return [s.id async for s in store.scan_statements(query, **options)]


@pytest.fixture
async def stored(client, make_statement):
    ids = []
    for verb in (COMPLETED, ATTEMPTED, COMPLETED):
        batch = [
            make_statement(id=str(uuid.uuid4()), verb={"id": verb, "display": {"en": "x"}})
            for _ in range(4)
        ]
        response = await client.post("/xapi/statements", json=batch)
        ids += response.json()
    voiding = make_statement(
        id=str(uuid.uuid4()),
        verb={"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
        object={"objectType": "StatementRef", "id": ids[0]},
        result=None,
    )
    await client.post("/xapi/statements", json=[voiding])
    return ids + [voiding["id"]]


@pytest.mark.parametrize(
    "query",
    [
        StatementQuery(),
        StatementQuery(verb=COMPLETED),
        StatementQuery(verb=ATTEMPTED, activity="http://example.com/courses/xapi-101"),
    ],
    ids=["everything (collection scan)", "one filter", "a pair of filters"],
)
async def test_a_scan_matches_paging_through_get(services, stored, query):
    assert await scanned(services.statements, query) == await paged(services.statements, query)


async def test_a_scan_after_a_position_walks_the_index_in_stored_order(services, stored):
    everything = [s async for s in services.statements.scan_statements(StatementQuery())]
    middle = everything[5].seq
    after = await scanned(services.statements, StatementQuery(after=middle))
    assert after == [s.id for s in everything[6:]]


async def test_voided_statements_are_scanned_only_when_asked(services, stored):
    assert stored[0] not in await scanned(services.statements, StatementQuery())
    assert await scanned(services.statements, StatementQuery(), include_voided=True) == stored


@pytest.mark.parametrize(
    "query",
    [StatementQuery(), StatementQuery(verb=COMPLETED)],
    ids=["everything (collection scan)", "one filter"],
)
async def test_a_scan_in_small_batches_reads_every_batch_in_order(
    services, stored, query, monkeypatch
):
    whole = await scanned(services.statements, query)
    monkeypatch.setattr(mongo_statements, "SCAN_BATCH", 2)  # several getMores for 13 statements
    assert await scanned(services.statements, query) == whole
    assert len(whole) > 2 * mongo_statements.SCAN_BATCH
