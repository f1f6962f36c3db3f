"""Related queries (`related_agents`, `related_activities`) find a statement through its
plain key too, since the related key does not repeat it: GET pages and bulk scans, for
statements stored with either layout, each statement once and in `stored` order."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from statements.index import agent_key
from statements.types import StatementQuery

ADA = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"}
BOB = {"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"}
COURSE = "http://example.com/courses/xapi-101"
PROGRAM = "http://example.com/programs/p1"


@pytest.fixture
async def stored(client, services, make_statement):
    """Ada as the actor, Ada as instructor, Bob alone; then an older-layout copy of the
    first (both `a:` and `A:` for the actor), as a store written before holds them."""
    statements = [
        make_statement(id=str(uuid.uuid4()), actor=ADA),
        make_statement(
            id=str(uuid.uuid4()),
            actor=BOB,
            object={"objectType": "Activity", "id": PROGRAM},
            context={"instructor": ADA, "contextActivities": {"parent": [{"id": COURSE}]}},
        ),
        make_statement(id=str(uuid.uuid4()), actor=BOB, object={"id": PROGRAM}),
    ]
    ids = []
    for statement in statements:
        ids += (await client.post("/xapi/statements", json=statement)).json()
    collection = services.statements.statements
    older = await collection.find_one({"_id": ids[0]})
    older["_id"], older["seq"] = str(uuid.uuid4()), older["seq"] + 1
    older["keys"] += ["A:" + agent_key(ADA), "T:" + COURSE]
    await collection.insert_one(older)
    return [*ids, older["_id"]]


async def test_stored_keys_leave_out_the_related_copy_of_the_actor_and_object(services, stored):
    doc = await services.statements.statements.find_one({"_id": stored[0]})
    assert "a:" + agent_key(ADA) in doc["keys"] and "A:" + agent_key(ADA) not in doc["keys"]
    assert "t:" + COURSE in doc["keys"] and "T:" + COURSE not in doc["keys"]


@pytest.mark.parametrize("ascending", [False, True])
async def test_related_agent_pages_hold_plain_and_related_matches_once_in_order(
    services, stored, ascending
):
    query = StatementQuery(agent=agent_key(ADA), related_agents=True, ascending=ascending)
    ids, after = [], None
    while True:
        page = await services.statements.find_statements(
            replace(query, limit=1, after=after), authority_key=None
        )
        ids += [s.id for s in page.statements]
        if page.more_after is None:
            break
        after = page.more_after
    expected = [stored[0], stored[3], stored[1]]  # the older copy sits just after the first
    assert ids == (expected if ascending else expected[::-1])


async def test_a_related_activity_scan_merges_plain_and_related_matches_in_stored_order(
    services, stored
):
    query = StatementQuery(activity=COURSE, related_activities=True)
    scanned = [s.id async for s in services.statements.scan_statements(query)]
    assert scanned == [stored[0], stored[3], stored[1]]


async def test_a_plain_filter_beside_a_related_one_is_checked_on_either_key(services, stored):
    query = StatementQuery(activity=COURSE, related_activities=True, agent=agent_key(BOB), limit=10)
    page = await services.statements.find_statements(query, authority_key=None)
    assert [s.id for s in page.statements] == [stored[1]]
    query = StatementQuery(agent=agent_key(ADA), related_agents=True, activity=PROGRAM)
    page = await services.statements.find_statements(replace(query, limit=10), authority_key=None)
    assert [s.id for s in page.statements] == [stored[1]]
