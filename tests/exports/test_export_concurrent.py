"""Incremental exports while statements are being posted: no gap, no duplicate."""

from __future__ import annotations

import asyncio
import uuid

from tests.exports.conftest import ndjson_ids, post


async def test_incremental_exports_during_concurrent_writes_cover_everything_exactly_once(
    client, make_statement, export, tmp_path
):
    posted: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            batch = [make_statement(id=str(uuid.uuid4())) for _ in range(3)]
            posted.extend(await post(client, batch))

    writers = [asyncio.create_task(writer()) for _ in range(3)]
    exported: list[list[str]] = []
    cursor = None
    try:
        for round_ in range(6):
            while len(posted) < 30 * (round_ + 1):  # let some writes through between exports
                await asyncio.sleep(0)
            manifest = await export(f"round{round_}", after=cursor, page_size=5)
            exported.append(ndjson_ids(tmp_path / f"round{round_}", manifest))
            cursor = manifest.cursor
    finally:
        stop.set()
        await asyncio.gather(*writers)
    manifest = await export("final", after=cursor)
    exported.append(ndjson_ids(tmp_path / "final", manifest))

    union = [i for ids in exported for i in ids]
    assert sorted(union) == sorted(posted)  # union == everything
    assert len(union) == len(set(union))  # pairwise intersections are empty
    assert sum(1 for ids in exported[:-1] if ids) >= 3  # the exports really ran mid-stream


async def test_a_write_in_flight_holds_the_cursor_back_so_the_next_export_gets_it(
    client, make_statement, export, services, tmp_path, monkeypatch
):
    """A slow write took its stored-sequence number before faster ones that completed: the
    export must not move its cursor past the slow one (it would land behind the cursor and
    never be exported). The slow write is held at the store's door by an event."""
    gate = asyncio.Event()
    original = services.statements.insert_statements
    held = []

    async def first_one_slow(statements, attachments):
        if not held:
            held.append(statements)
            await gate.wait()
        return await original(statements, attachments)

    monkeypatch.setattr(services.statements, "insert_statements", first_one_slow)
    slow = asyncio.create_task(post(client, [make_statement(id=str(uuid.uuid4()))]))
    while not held:
        await asyncio.sleep(0)
    fast = await post(client, [make_statement(id=str(uuid.uuid4())) for _ in range(2)])
    first = await export("first")
    gate.set()
    slow_ids = await slow
    second = await export("second", after=first.cursor)

    exported = ndjson_ids(tmp_path / "first", first) + ndjson_ids(tmp_path / "second", second)
    assert sorted(exported) == sorted(fast + slow_ids)
    assert len(exported) == len(set(exported))
