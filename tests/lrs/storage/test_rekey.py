"""Upgrading a store written before the pair keys: nothing a two-filter query should find
is missed after the first start of this version."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lrs.app import create_app
from lrs.storage import statement_keys as keys
from lrs.storage.rekey import MARKER, upgrade_keys
from tests.conditions import eventually

VERB = "http://adlnet.gov/expapi/verbs/completed"


async def as_version_1(db) -> None:
    """What an earlier version stored: the same keys without the pairs, no version marker."""
    async for doc in db["statements"].find({}, {"keys": 1}):
        old = [k for k in doc["keys"] if not k.startswith(keys.PAIR_PREFIXES)]
        await db["statements"].update_one({"_id": doc["_id"]}, {"$set": {"keys": old}})
    await db["meta"].delete_one({"_id": MARKER})


async def post_statements(client, make_statement, count: int, actor) -> list[str]:
    ids = []
    for _ in range(count):
        response = await client.post("/xapi/statements", json=make_statement(actor=actor))
        assert response.status_code == 200, response.text
        ids += response.json()
    return ids


async def by_agent_and_verb(client, actor) -> list[str]:
    params = {"agent": json.dumps(actor), "verb": VERB}
    response = await client.get("/xapi/statements", params=params)
    assert response.status_code == 200
    return [s["id"] for s in response.json()["statements"]]


def learner():
    return {"objectType": "Agent", "mbox": f"mailto:{uuid.uuid4()}@example.com"}


@pytest.mark.parametrize("oldest_seq_recorded", [True, False])
async def test_statements_stored_without_pairs_are_found_again_after_the_upgrade(
    client, services, make_statement, oldest_seq_recorded
):
    actor = learner()
    ids = await post_statements(client, make_statement, 3, actor)
    db = services.client[services.settings.database]
    await as_version_1(db)
    stored = await db["meta"].find_one({"_id": "statements"})
    if not oldest_seq_recorded:  # the upgrade then reads from seq 0, in growing windows
        await db["meta"].update_one({"_id": "statements"}, {"$unset": {"first_seq": ""}})
    pair = {"keys": keys.verb_agent(VERB, "mbox::" + actor["mbox"])}
    assert await db["statements"].count_documents(pair) == 0  # what the upgrade is for

    assert await upgrade_keys(db) == 3
    assert await db["statements"].count_documents(pair) == 3
    await db["meta"].replace_one({"_id": "statements"}, stored)
    assert await by_agent_and_verb(client, actor) == ids[::-1]
    marker = await db["meta"].find_one({"_id": MARKER})
    assert marker["version"] == keys.KEYS_VERSION and "resume_seq" not in marker
    assert await upgrade_keys(db) == 0


async def test_an_interrupted_upgrade_resumes_where_it_stopped(client, services, make_statement):
    actor = learner()
    ids = await post_statements(client, make_statement, 3, actor)
    db = services.client[services.settings.database]
    await as_version_1(db)
    second = await db["statements"].find_one({"_id": ids[1]}, {"seq": 1})
    await db["meta"].insert_one({"_id": MARKER, "version": 1, "resume_seq": second["seq"]})

    assert await upgrade_keys(db) == 2
    assert await by_agent_and_verb(client, actor) == ids[:0:-1]  # the first was passed already


async def test_a_new_store_is_marked_current_without_reading_statements(services):
    db = services.client[services.settings.database]
    marker = await db["meta"].find_one({"_id": MARKER})
    assert marker["version"] == keys.KEYS_VERSION


async def test_keys_are_added_never_replaced(client, services, make_statement):
    actor = learner()
    (statement_id,) = await post_statements(client, make_statement, 1, actor)
    db = services.client[services.settings.database]
    await as_version_1(db)
    await db["statements"].update_one({"_id": statement_id}, {"$push": {"keys": "x:kept"}})
    await upgrade_keys(db)
    stored = await db["statements"].find_one({"_id": statement_id})
    assert "x:kept" in stored["keys"]
    assert len(stored["keys"]) == len(set(stored["keys"]))


async def hold_lease(db, seconds: float) -> None:
    await db["meta"].update_one(
        {"_id": MARKER},
        {"$set": {"version": 1, "lease_owner": "elsewhere", "lease_until": time.time() + seconds}},
        upsert=True,
    )


async def test_the_upgrade_waits_while_another_process_holds_its_lease(
    client, services, make_statement
):
    await post_statements(client, make_statement, 1, learner())
    db = services.client[services.settings.database]
    await as_version_1(db)
    await hold_lease(db, 60)
    assert await upgrade_keys(db) is None
    await hold_lease(db, -1)  # lapsed: the holder died
    assert await upgrade_keys(db) == 1


async def test_a_new_process_on_an_old_store_answers_correctly_before_and_after_the_upgrade(
    client, services, make_statement, mongo_server, settings
):
    actor = learner()
    ids = await post_statements(client, make_statement, 2, actor)
    db = services.client[services.settings.database]
    await as_version_1(db)
    await hold_lease(db, 60)  # another process is upgrading: this one must not use pairs
    app = create_app(settings, mongo_server.uri)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://lrs.test", headers=client.headers
        ) as second:
            assert await by_agent_and_verb(second, actor) == ids[::-1]
            await hold_lease(db, -1)
            assert await upgrade_keys(db) == 2
            assert await by_agent_and_verb(second, actor) == ids[::-1]


async def test_starting_on_an_old_store_upgrades_it_in_the_background(
    client, services, make_statement, mongo_server, settings
):
    actor = learner()
    await post_statements(client, make_statement, 2, actor)
    db = services.client[services.settings.database]
    await as_version_1(db)
    app = create_app(settings, mongo_server.uri)

    async def upgraded():
        marker = await db["meta"].find_one({"_id": MARKER})
        return marker if marker and marker.get("version") == keys.KEYS_VERSION else None

    async with LifespanManager(app):
        marker = await eventually(upgraded, "the background upgrade to mark the store current")
    assert marker["version"] == keys.KEYS_VERSION
    stored = [doc async for doc in db["statements"].find({}, {"keys": 1})]
    assert all(any(k.startswith("va:") for k in doc["keys"]) for doc in stored)
