"""Group commit of single statements: concurrent requests share one write, and each keeps
the outcome it would have had alone (its own 409, equivalence, voiding, durability)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from lrs.app import create_app
from lrs.auth.scopes import Credential
from lrs.ingest import store_statements
from lrs.storage.embedded import EmbeddedDatabase
from lrs.storage.group_commit import GroupCommit, WriteInterrupted
from statements.errors import StatementConflict

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
CREDENTIAL = Credential("k", frozenset({"all"}), {"mbox": "mailto:lrs@example.com"})


async def store_each(services, *statements: dict[str, Any]) -> list[Any]:
    """Each statement as its own request, all at once: they reach the store in one group."""
    before = services.statements.singles.groups
    outcomes = await asyncio.gather(
        *(store_statements(services, CREDENTIAL, "2.0.0", [s]) for s in statements),
        return_exceptions=True,
    )
    assert services.statements.singles.groups == before + 1  # one write for all of them
    return outcomes


async def stored(services, statement_id: str, *, voided: bool = False) -> dict[str, Any] | None:
    found = await services.statements.get_statement(statement_id, voided=voided)
    return None if found is None else {"id": found.id}


async def settle() -> None:
    """Let every task that is ready run (a submitted member, then the writer it started)."""
    for _ in range(5):
        await asyncio.sleep(0)


def new_id() -> str:
    return str(uuid.uuid4())


# -- the coalescing itself ------------------------------------------------------------------


async def test_writes_arriving_together_share_one_write_and_keep_their_own_outcomes():
    writes: list[list[int]] = []

    async def write(items: list[int]) -> list[BaseException | None]:
        writes.append(items)
        return [ValueError(i) if i % 2 else None for i in items]

    group = GroupCommit(write, limit=100)
    outcomes = await asyncio.gather(*(group.submit(i) for i in range(6)), return_exceptions=True)

    assert writes == [[0, 1, 2, 3, 4, 5]]
    assert [o if o is None else str(o) for o in outcomes] == [None, "1", None, "3", None, "5"]


async def test_writes_arriving_while_one_is_in_flight_join_the_next_and_the_limit_holds():
    writes, release, write = blocking_first_write()
    group = GroupCommit(write, limit=3)
    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0)  # the first write is in flight, alone
    later = [asyncio.create_task(group.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *later)

    assert writes == [[0], [1, 2, 3], [4, 5]]
    assert group.groups == 3


async def test_a_failed_group_write_is_every_members_error_and_the_next_group_goes_on():
    calls = 0

    async def write(items: list[int]) -> list[BaseException | None]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise PyMongoError("connection lost")
        return [None] * len(items)

    group = GroupCommit(write, limit=10)
    failed = await asyncio.gather(group.submit(1), group.submit(2), return_exceptions=True)
    assert [type(o) for o in failed] == [PyMongoError, PyMongoError]
    await group.submit(3)  # the writer is not stuck after a failure


async def test_a_cancelled_writer_answers_every_waiting_member():
    started = asyncio.Event()

    async def write(items: list[int]) -> list[BaseException | None]:
        started.set()
        await asyncio.sleep(60)
        return [None] * len(items)

    group = GroupCommit(write, limit=1)
    members = [asyncio.create_task(group.submit(i)) for i in range(3)]
    await started.wait()
    assert len(group.writers) == 1
    next(iter(group.writers)).cancel()
    outcomes = await asyncio.gather(*members, return_exceptions=True)
    assert [type(o) for o in outcomes] == [WriteInterrupted] * 3


# -- per-request outcomes on the real store -------------------------------------------------


async def test_a_conflict_in_the_middle_of_a_group_fails_only_that_request(
    services, make_statement
):
    taken = new_id()
    await store_statements(services, CREDENTIAL, "2.0.0", [make_statement(id=taken)])
    before, after = new_id(), new_id()
    conflicting = make_statement(id=taken, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})

    outcomes = await store_each(
        services, make_statement(id=before), conflicting, make_statement(id=after)
    )

    assert outcomes[0] == [before]
    assert isinstance(outcomes[1], StatementConflict)
    assert outcomes[2] == [after]
    assert await stored(services, before) and await stored(services, after)


async def test_an_identical_pair_inside_one_group_is_stored_once_and_both_succeed(
    services, make_statement
):
    statement = make_statement(id=new_id())
    outcomes = await store_each(services, statement, dict(statement))

    assert outcomes == [[statement["id"]], [statement["id"]]]
    assert await services.statements.statements.count_documents({}) == 1


async def test_a_different_pair_with_one_id_inside_one_group_stores_the_first_409s_the_second(
    services, make_statement
):
    statement_id = new_id()
    first = make_statement(id=statement_id)
    second = make_statement(id=statement_id, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})

    outcomes = await store_each(services, first, second, make_statement(id=new_id()))

    assert outcomes[0] == [statement_id]
    assert isinstance(outcomes[1], StatementConflict)
    assert isinstance(outcomes[2], list)
    found = await services.statements.get_statement(statement_id, voided=False)
    assert found is not None and "completed" in found.raw


async def test_a_repeat_of_a_stored_statement_inside_a_group_is_equivalent(
    services, make_statement
):
    statement = make_statement(id=new_id())
    await store_statements(services, CREDENTIAL, "2.0.0", [statement])
    outcomes = await store_each(services, dict(statement), make_statement(id=new_id()))
    assert outcomes[0] == [statement["id"]]
    assert isinstance(outcomes[1], list)


async def test_voiding_and_its_target_in_one_group_void_the_target(services, make_statement):
    target = new_id()
    voiding = make_statement(
        id=new_id(),
        verb={"id": VOIDED, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
    )
    outcomes = await store_each(services, voiding, make_statement(id=target))

    assert all(isinstance(o, list) for o in outcomes)
    assert await stored(services, target) is None
    assert await stored(services, target, voided=True) == {"id": target}


async def test_a_voiding_that_conflicts_voids_nothing(services, make_statement):
    target, taken = new_id(), new_id()
    await store_statements(services, CREDENTIAL, "2.0.0", [make_statement(id=target)])
    await store_statements(services, CREDENTIAL, "2.0.0", [make_statement(id=taken)])
    voiding = make_statement(
        id=taken,
        verb={"id": VOIDED, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": target},
    )
    outcomes = await store_each(services, voiding, make_statement(id=new_id()))

    assert isinstance(outcomes[0], StatementConflict)
    assert await stored(services, target) == {"id": target}


# -- a crash in the middle of a group -------------------------------------------------------


@pytest.fixture(scope="module")
def failing_server() -> Iterator[EmbeddedDatabase]:
    """A database of its own, with `configureFailPoint` (test commands) enabled."""
    database = EmbeddedDatabase(
        ":memory:", cache_size="64M", extra_args=("--enable-test-commands",)
    )
    database.start()
    yield database
    database.stop()


@pytest.fixture
async def crashing(failing_server, settings):
    """The app on the failing server, without the rollup consumer: its inserts run in the
    background and took the one-shot failpoint meant for the statements' insert."""
    app = create_app(replace(settings, analytics_rollups=False), failing_server.uri)
    async with LifespanManager(app) as manager:
        yield manager._state["services"]


@pytest.fixture
async def failpoint(failing_server):
    admin: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(failing_server.uri)

    async def configure(mode: Any, data: dict[str, Any]) -> None:
        await admin.admin.command("configureFailPoint", "failCommand", mode=mode, data=data)

    yield configure
    await configure("off", {})
    await admin.close()


async def test_a_group_whose_write_fails_acknowledges_none_and_loses_nothing_acknowledged(
    crashing, make_statement, failpoint
):
    services = crashing
    acknowledged = new_id()
    await store_statements(services, CREDENTIAL, "2.0.0", [make_statement(id=acknowledged)])
    ids = [new_id() for _ in range(3)]
    await failpoint({"times": 1}, {"failCommands": ["insert"], "errorCode": 8})

    outcomes = await store_each(services, *(make_statement(id=i) for i in ids))

    assert all(isinstance(o, PyMongoError) for o in outcomes)
    assert await stored(services, acknowledged) == {"id": acknowledged}
    for statement_id in ids:  # a retry stores each one, as if the first try never happened
        assert await store_statements(
            services, CREDENTIAL, "2.0.0", [make_statement(id=statement_id)]
        ) == [statement_id]


async def test_a_group_written_but_not_durable_is_not_acknowledged(
    crashing, make_statement, failpoint
):
    services = crashing
    """The insert ran but its write concern failed (the journal or the majority did not
    confirm it): no member may be told its statement is stored."""
    ids = [new_id() for _ in range(3)]
    error = {"code": 64, "errmsg": "waiting for replication timed out"}
    await failpoint({"times": 1}, {"failCommands": ["insert"], "writeConcernError": error})

    outcomes = await store_each(services, *(make_statement(id=i) for i in ids))

    assert all(isinstance(o, PyMongoError) for o in outcomes)


async def test_a_batch_written_but_not_durable_is_not_acknowledged(
    crashing, make_statement, failpoint
):
    services = crashing
    error = {"code": 64, "errmsg": "waiting for replication timed out"}
    await failpoint({"times": 1}, {"failCommands": ["insert"], "writeConcernError": error})
    batch = [make_statement(id=new_id()) for _ in range(3)]

    with pytest.raises(PyMongoError):
        await store_statements(services, CREDENTIAL, "2.0.0", batch)


async def test_with_depth_two_a_write_arriving_during_one_goes_out_at_once_and_a_third_waits():
    writes: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[BaseException | None]:
        writes.append(items)
        await release.wait()
        return [None] * len(items)

    group = GroupCommit(write, limit=10, depth=2)
    members = [asyncio.create_task(group.submit(0))]
    await settle()
    members.append(asyncio.create_task(group.submit(1)))
    await settle()
    assert writes == [[0], [1]]  # both in flight
    members += [asyncio.create_task(group.submit(i)) for i in (2, 3)]
    await settle()
    assert writes == [[0], [1]]  # two in flight: the others wait, together
    release.set()
    await asyncio.gather(*members)
    assert sorted(map(sorted, writes)) == [[0], [1], [2, 3]]


async def test_the_store_writes_two_groups_at_once(services):
    assert services.statements.singles.depth == 2


# -- gathering the requests ready to join -------------------------------------------------


def recording_writes() -> tuple[list[list[int]], Any]:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> list[BaseException | None]:
        writes.append(items)
        return [None] * len(items)

    return writes, write


async def test_a_lone_member_never_waits_for_the_window():
    writes, write = recording_writes()
    group = GroupCommit(write, limit=10, depth=2, window=3600)
    await group.submit(0)
    await group.submit(1)
    assert writes == [[0], [1]]


async def submit_after(group: GroupCommit[int], item: int, passes: int) -> None:
    """Submit once the event loop has gone round `passes` times (a request read later)."""
    for _ in range(passes):
        await asyncio.sleep(0)
    await group.submit(item)


def blocking_first_write() -> tuple[list[list[int]], asyncio.Event, Any]:
    writes: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[BaseException | None]:
        writes.append(items)
        if len(writes) == 1:
            await release.wait()
        return [None] * len(items)

    return writes, release, write


async def test_while_a_group_is_written_the_next_takes_the_requests_ready_to_arrive():
    writes, release, write = blocking_first_write()
    group = GroupCommit(write, limit=10, depth=2, window=3600)
    first = asyncio.create_task(group.submit(0))
    await settle()  # in flight, alone
    later = [asyncio.create_task(submit_after(group, i, p)) for i, p in ((1, 0), (2, 2), (3, 4))]
    for _ in range(12):
        await asyncio.sleep(0)
    assert writes == [[0], [1, 2, 3]]
    release.set()
    await asyncio.gather(first, *later)


async def test_with_nothing_in_flight_a_write_does_not_wait_for_later_requests():
    writes, release, write = blocking_first_write()
    release.set()
    group = GroupCommit(write, limit=10, depth=2, window=3600)
    await asyncio.gather(group.submit(0), submit_after(group, 1, 3))
    assert writes == [[0], [1]]


async def test_concurrent_single_posts_each_keep_their_answer(client, services, make_statement):
    ids = [new_id() for _ in range(6)]
    responses = await asyncio.gather(
        *(client.post("/xapi/statements", json=make_statement(id=i)) for i in ids)
    )
    assert [r.json() for r in responses] == [[i] for i in ids]
    for i in ids:
        assert await stored(services, i) == {"id": i}
