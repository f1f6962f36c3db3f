"""The admin API: forwarders (secrets write-only, encrypted at rest, rotation), test events,
listing by state, attempts, replay."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from cryptography.fernet import Fernet

from forwarders.config import ForwardingSettings, SettingsError
from forwarders.delivery.signing import generate_secret
from forwarders.errors import EventNotFound, ForwarderNotFound, InvalidForwarder
from forwarders.secretbox import SecretBox, SecretBoxError
from forwarders.service import ForwarderService
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post


async def test_a_created_forwarder_shows_its_secret_once_and_never_again(admin, db):
    created = await admin.create_forwarder({"name": "crm", "url": "https://crm.example.com/h"})
    assert created.secret is not None and created.secret.startswith("whsec_")
    shown = created.as_dict()
    assert shown["secret"] == created.secret
    assert shown["kind"] == "generic" and shown["paused"] is False
    listed = orjson.dumps([v.as_dict() for v in await admin.list_forwarders()])
    fetched = orjson.dumps((await admin.get_forwarder(shown["id"])).as_dict())
    assert created.secret not in listed.decode() and created.secret not in fetched.decode()
    [secret] = (await admin.get_forwarder(shown["id"])).as_dict()["secrets"]
    assert set(secret) == {"id", "added", "expires"}


async def test_secrets_are_encrypted_at_rest_when_a_key_is_set(db):
    key = Fernet.generate_key().decode()
    service = ForwarderService(db, statements=MongoStatementSource(db), secrets_key=key)
    secret = generate_secret()
    created = await service.create_forwarder(
        {"name": "m", "url": "https://m.example.com", "secrets": [secret]}
    )
    assert created.secret is None  # the caller chose it
    raw = await db["forwarders"].find_one({"_id": created.view.forwarder.id})
    assert secret not in orjson.dumps(raw, default=str).decode()
    assert (await service.store.get(created.view.forwarder.id)).secrets[0].value == secret
    with pytest.raises(SecretBoxError):
        await ForwarderService(db, statements=MongoStatementSource(db)).store.get(
            created.view.forwarder.id
        )


def test_the_secret_box():
    key = Fernet.generate_key().decode()
    assert SecretBox(None).open(SecretBox(None).seal("x")) == "x"
    assert SecretBox(key).open(SecretBox(None).seal("x")) == "x"
    assert SecretBox(key).seal("x").startswith("fernet:")
    with pytest.raises(SecretBoxError):
        SecretBox(Fernet.generate_key().decode()).open(SecretBox(key).seal("x"))
    with pytest.raises(SecretBoxError):
        SecretBox(key).open("rot13:k")


async def test_invalid_requests_are_refused(admin, db):
    strict = ForwarderService(db, statements=MongoStatementSource(db))
    with pytest.raises(InvalidForwarder, match="url"):
        await strict.create_forwarder({"name": "x", "url": "http://127.0.0.1/h"})
    with pytest.raises(InvalidForwarder, match="url"):
        await admin.create_forwarder({"name": "x", "url": "ftp://example.com/h"})
    with pytest.raises(InvalidForwarder, match="secrets"):
        await admin.create_forwarder({"name": "x", "url": "https://e.com", "secrets": ["abc"]})
    with pytest.raises(InvalidForwarder, match="secrets"):
        await admin.create_forwarder({"name": "x", "url": "https://e.com", "secrets": []})
    created = await admin.create_forwarder({"name": "x", "url": "https://e.com"})
    forwarder_id = created.view.forwarder.id
    with pytest.raises(InvalidForwarder, match="secrets"):
        await admin.update_forwarder(forwarder_id, {"secrets": [generate_secret()]})
    with pytest.raises(InvalidForwarder, match="state"):
        await admin.list_events(state="lost")
    with pytest.raises(InvalidForwarder, match="limit"):
        await admin.list_events(limit=0)
    with pytest.raises(InvalidForwarder, match="states"):
        await admin.replay_forwarder(forwarder_id, states=("gone",))
    with pytest.raises(ForwarderNotFound):
        await admin.update_forwarder("nope", {"name": "y"})
    for call in (admin.pause_forwarder, admin.resume_forwarder, admin.delete_forwarder):
        with pytest.raises(ForwarderNotFound):
            await call("nope")
    with pytest.raises(EventNotFound):
        await admin.list_attempts("nope")


async def test_update_pause_resume(admin):
    created = await admin.create_forwarder({"name": "x", "url": "https://e.com"})
    forwarder_id = created.view.forwarder.id
    updated = await admin.update_forwarder(
        forwarder_id, {"name": "y", "activity_types": ["t"], "max_in_flight": 8}
    )
    assert (updated.forwarder.name, updated.forwarder.activity_types) == ("y", ("t",))
    assert (await admin.update_forwarder(forwarder_id, {})).forwarder.name == "y"
    paused = await admin.update_forwarder(forwarder_id, {"paused": True})
    assert paused.forwarder.paused_reason == "paused by an administrator"
    assert (await admin.resume_forwarder(forwarder_id)).forwarder.paused is False
    assert (await admin.pause_forwarder(forwarder_id, "maintenance")).forwarder.paused_reason == (
        "maintenance"
    )


async def test_rotation_keeps_the_old_secret_for_the_overlap_only(admin, clock):
    created = await admin.create_forwarder({"name": "x", "url": "https://e.com"})
    forwarder_id = created.view.forwarder.id
    new = await admin.rotate_secret(forwarder_id, overlap=timedelta(hours=1))
    forwarder = await admin.store.get(forwarder_id)
    assert forwarder.signing_secrets(clock()) == [created.secret, new]
    clock.advance(3601)
    assert forwarder.signing_secrets(clock()) == [new]
    chosen = generate_secret()
    assert await admin.rotate_secret(forwarder_id, chosen, overlap=timedelta(0)) == chosen
    forwarder = await admin.store.get(forwarder_id)
    assert [s.value for s in forwarder.secrets] == [chosen]


async def test_a_test_event_is_delivered_and_its_attempts_listed(
    make_forwarder, admin, worker, receiver
):
    forwarder = await make_forwarder("ping")
    event = await admin.send_test_event(forwarder["id"])
    assert (event.type, event.state) == ("learning.test", "pending")
    assert await worker.run_until_empty() == 1
    [delivery] = receiver.on("ping")
    assert delivery.verified and delivery.payload["type"] == "learning.test"
    [attempt] = await admin.list_attempts(event.id)
    assert (attempt.status, attempt.outcome) == (200, "Delivered")
    assert attempt.as_dict()["at"].endswith("+00:00")
    assert (await admin.get_event(event.id)).as_dict()["state"] == "delivered"


async def test_events_are_listed_by_state_and_replayed_by_time_range(
    client, make_statement, make_forwarder, admin, worker, receiver, clock
):
    forwarder = await make_forwarder("mixed")
    receiver.plan("mixed", 400, 400, Answer(500))
    await post(client, *(make_statement() for _ in range(4)))
    await worker.run_until_empty()
    counts = {s: len(await admin.list_events(state=s)) for s in ("dead", "failed", "delivered")}
    assert counts == {"dead": 2, "failed": 1, "delivered": 1}
    assert len(await admin.list_events(forwarder_id=forwarder["id"], limit=2)) == 2

    start, end = clock() - timedelta(minutes=1), clock() + timedelta(minutes=1)
    assert await admin.replay_range(start, end, forwarder_id=forwarder["id"]) == 2
    assert await admin.replay_range(end, end + timedelta(minutes=1)) == 0
    assert await worker.run_until_empty() == 2
    assert len(await admin.list_events(state="delivered")) == 3


async def test_deleting_a_forwarder_removes_its_events(
    client, make_statement, make_forwarder, admin, worker
):
    forwarder = await make_forwarder("bye")
    await post(client, make_statement())
    await worker.run_until_empty()
    await admin.delete_forwarder(forwarder["id"])
    assert await admin.list_events() == []
    assert await admin.list_forwarders() == []


async def test_running_workers_are_listed(admin, make_worker):
    import asyncio

    from forwarders.worker import utc_now

    worker = make_worker(clock=utc_now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    for _ in range(50):
        if await admin.list_workers():
            break
        await asyncio.sleep(0.05)
    [listed] = await admin.list_workers()
    assert listed["_id"] == worker.id
    stop.set()
    await running


def test_settings_from_the_environment():
    settings = ForwardingSettings.from_env(
        {
            "LRS_FORWARDER_ALLOW_PRIVATE": "yes",
            "LRS_FORWARDER_RETRY_SCHEDULE": "1s,1m",
            "LRS_FORWARDER_CONCURRENCY": "8",
            "LRS_FORWARDER_SECRETS_KEY": "k",
        }
    )
    assert settings.allow_private and settings.concurrency == 8
    assert settings.policy.delays == (1.0, 60.0) and settings.secrets_key == "k"
    assert "k" not in repr(settings)
    assert ForwardingSettings.from_env({}) == ForwardingSettings()
    for bad in (
        {"LRS_FORWARDER_ALLOW_PRIVATE": "maybe"},
        {"LRS_FORWARDER_RETRY_SCHEDULE": "soon"},
        {"LRS_FORWARDER_LEASE_SECONDS": "0"},
        {"LRS_FORWARDER_POLL_SECONDS": "x"},
    ):
        with pytest.raises(SettingsError):
            ForwardingSettings.from_env(bad)
