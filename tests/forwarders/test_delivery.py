"""Delivery against a real receiver on loopback: signed, at least once, same id on retries,
the schedule and Retry-After honoured, dead letters and replay, 410 pauses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forwarders.events import event_id
from tests.forwarders.conftest import ADL
from tests.forwarders.receiver import Answer


async def post(client, *statements):
    response = await client.post("/xapi/statements", json=list(statements))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_completed_statement_is_delivered_once_signed_with_the_event_id(
    client, make_statement, make_forwarder, worker, receiver
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())

    assert await worker.run_until_empty() == 1

    [delivery] = receiver.on("hook")
    assert delivery.verified is True
    assert delivery.id == event_id(forwarder["id"], statement_id)
    payload = delivery.payload
    assert payload["type"] == "learning.completed"
    assert payload["data"]["statement_id"] == statement_id
    assert payload["data"]["activity"] == {
        "id": "http://example.com/courses/xapi-101",
        "name": "xAPI 101",
        "type": "http://adlnet.gov/expapi/activities/course",
    }
    assert payload["data"]["result"]["score"] == 90.0
    assert payload["data"]["learner"]["mbox"] == "mailto:ada@example.com"
    assert await worker.run_until_empty() == 0
    assert len(receiver.on("hook")) == 1


async def test_failures_are_retried_on_schedule_with_the_same_event_id(
    client, make_statement, make_forwarder, worker, receiver, clock, admin
):
    await make_forwarder("flaky")
    receiver.plan("flaky", 500, 503)
    await post(client, make_statement())

    assert await worker.run_until_empty() == 0
    [record] = await admin.list_events(state="failed")
    first_delay = (record.due - clock()).total_seconds()
    assert 4.0 <= first_delay <= 6.0  # 5 s +/- 20 % jitter

    clock.advance(first_delay - 0.5)
    await worker.run_until_empty()
    assert len(receiver.on("flaky")) == 1  # not due yet

    clock.advance(1)
    await worker.run_until_empty()
    [record] = await admin.list_events(state="failed")
    assert 16.0 <= (record.due - clock()).total_seconds() <= 24.0  # 20 s +/- 20 %

    clock.advance(25)
    assert await worker.run_until_empty() == 1
    deliveries = receiver.on("flaky")
    assert len(deliveries) == 3
    assert len({d.id for d in deliveries}) == 1
    assert all(d.verified for d in deliveries)
    attempts = await admin.list_attempts(deliveries[0].id)
    assert [a.status for a in attempts] == [500, 503, 200]
    assert [a.number for a in attempts] == [1, 2, 3]
    assert (await admin.get_event(deliveries[0].id)).state == "delivered"


async def test_retry_after_is_honoured(
    client, make_statement, make_forwarder, worker, receiver, clock, admin
):
    await make_forwarder("busy")
    receiver.plan("busy", Answer(429, {"Retry-After": "120"}))
    await post(client, make_statement())

    await worker.run_until_empty()
    [record] = await admin.list_events(state="failed")
    assert record.due == clock() + timedelta(seconds=120)
    clock.advance(119)
    await worker.run_until_empty()
    assert len(receiver.on("busy")) == 1
    clock.advance(1)
    assert await worker.run_until_empty() == 1


async def test_a_4xx_is_dead_lettered_at_once_and_replay_delivers_it(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    await make_forwarder("strict")
    receiver.plan("strict", 400)
    await post(client, make_statement())

    await worker.run_until_empty()
    [dead] = await admin.list_events(state="dead")
    assert dead.reason == "400 response"
    [attempt] = await admin.list_attempts(dead.id)
    assert attempt.excerpt == "answer 400"

    replayed = await admin.replay_event(dead.id)
    assert replayed.state == "pending"
    assert await worker.run_until_empty() == 1
    assert [d.id for d in receiver.on("strict")] == [dead.id, dead.id]


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    await make_forwarder("moved")
    receiver.plan("moved", Answer(302, {"Location": receiver.url("elsewhere")}))
    await post(client, make_statement())

    assert await worker.run_until_empty() == 0
    assert receiver.on("elsewhere") == []
    [record] = await admin.list_events(state="failed")
    assert "redirect" in (record.reason or "")
    [attempt] = await admin.list_attempts(record.id)
    assert attempt.excerpt.startswith("Location: " + receiver.url("elsewhere"))


async def test_gone_pauses_the_forwarder_and_dead_letters_the_event(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("gone")
    receiver.plan("gone", 410)
    await post(client, make_statement())
    await worker.run_until_empty()

    view = await admin.get_forwarder(forwarder["id"])
    assert view.forwarder.paused is True
    assert "410" in (view.forwarder.paused_reason or "")
    [dead] = await admin.list_events(state="dead")

    await post(client, make_statement())  # queued while paused, not sent
    assert await worker.run_until_empty() == 0
    assert len(await admin.list_events(state="pending")) == 1

    await admin.resume_forwarder(forwarder["id"])
    assert await admin.replay_forwarder(forwarder["id"]) == 1
    assert await worker.run_until_empty() == 2
    assert {d.id for d in receiver.on("gone")} >= {dead.id}


async def test_after_the_last_attempt_the_event_is_dead(
    client, make_statement, make_forwarder, worker, receiver, clock, admin
):
    await make_forwarder("down")
    receiver.default("down", Answer(500))
    await post(client, make_statement())
    for _ in range(4):  # FAST_POLICY: 3 delays, 4 attempts
        await worker.run_until_empty()
        clock.advance(100)
    [dead] = await admin.list_events(state="dead")
    assert dead.attempts == 4
    assert dead.reason == "gave up after 4 attempts: 500 response"
    assert len(receiver.on("down")) == 4


async def test_network_errors_and_timeouts_are_retried(
    client, make_statement, admin, worker, receiver
):
    from lrs.storage.embedded import free_port

    created = await admin.create_forwarder(
        {"name": "nobody", "url": f"http://127.0.0.1:{free_port()}/hook"}
    )
    await post(client, make_statement())
    await worker.run_until_empty()
    [record] = await admin.list_events(state="failed")
    [attempt] = await admin.list_attempts(record.id)
    assert attempt.status is None
    assert "ConnectError" in (attempt.error or "")
    assert created.view.forwarder.id == record.forwarder_id


async def test_only_matching_statements_are_forwarded(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("courses", activity_prefixes=["http://example.com/courses/"])
    await make_forwarder("failures", verbs=[ADL + "failed"])
    failed = {"id": ADL + "failed", "display": {"en-US": "failed"}}
    other = {"objectType": "Activity", "id": "http://example.com/quizzes/1"}
    await post(
        client,
        make_statement(),
        make_statement(verb=failed, result={"success": False}),
        make_statement(object=other),
        make_statement(verb={"id": ADL + "experienced"}),
    )
    await worker.run_until_empty()
    assert [d.payload["type"] for d in receiver.on("courses")] == ["learning.completed"]
    assert [d.payload["type"] for d in receiver.on("failures")] == ["learning.failed"]


async def test_statements_stored_before_a_forwarder_existed_are_not_sent(
    client, make_statement, make_forwarder, worker, receiver, clock
):
    await post(client, make_statement())
    clock.sync()
    await make_forwarder("late")
    assert await worker.run_until_empty() == 0


async def test_voiding_a_forwarded_statement_sends_a_revocation(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("hook")
    [original] = await post(client, make_statement())
    await worker.run_until_empty()
    [delivered] = receiver.on("hook")

    voiding = make_statement(
        verb={"id": ADL + "voided", "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": original},
        result=None,
    )
    [voiding_id] = await post(client, voiding)
    await worker.run_until_empty()

    [_, revoked] = receiver.on("hook")
    assert revoked.verified
    assert revoked.payload["type"] == "learning.revoked"
    assert revoked.payload["data"]["statement_id"] == original
    assert revoked.payload["data"]["revokes_event_id"] == delivered.id
    assert revoked.payload["data"]["voiding_statement_id"] == voiding_id
    assert revoked.id != delivered.id


async def test_voiding_a_statement_that_was_never_forwarded_sends_nothing(
    client, make_statement, make_forwarder, worker, receiver
):
    [original] = await post(client, make_statement(verb={"id": ADL + "experienced"}))
    await make_forwarder("hook")
    voiding = make_statement(
        verb={"id": ADL + "voided"}, object={"objectType": "StatementRef", "id": original}
    )
    await post(client, voiding)
    assert await worker.run_until_empty() == 0
    assert receiver.on("hook") == []


@pytest.mark.parametrize("overlap", [True])
async def test_during_rotation_both_secrets_sign(
    client, make_statement, make_forwarder, worker, receiver, admin, overlap
):
    forwarder = await make_forwarder("rotating")
    old = receiver.secrets["rotating"][0]
    new = await admin.rotate_secret(forwarder["id"])
    await post(client, make_statement())
    await worker.run_until_empty()
    [delivery] = receiver.on("rotating")
    assert len(delivery.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        receiver.verify_with("rotating", secret)
        assert receiver._verify("rotating", delivery.headers, delivery.body) is True
