"""The newest stored seq other processes start newest-first reads from (`meta.last_seq`)."""

from __future__ import annotations

import asyncio


async def test_a_write_inside_the_throttle_second_is_still_published_soon_after(
    client, services, make_statement
):
    db = services.client[services.settings.database]
    ids = []
    for _ in range(3):  # the first publishes at once, the next two fall inside its second
        response = await client.post("/xapi/statements", json=make_statement())
        ids += response.json()
    newest = await db["statements"].find_one({"_id": ids[-1]}, {"seq": 1})
    meta = await db["meta"].find_one({"_id": "statements"})
    assert meta["last_seq"] < newest["seq"]
    for _ in range(30):
        await asyncio.sleep(0.1)
        meta = await db["meta"].find_one({"_id": "statements"})
        if meta["last_seq"] == newest["seq"]:
            break
    assert meta["last_seq"] == newest["seq"]
