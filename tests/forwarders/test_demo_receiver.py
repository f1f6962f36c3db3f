"""`lrs demo-receiver`: verifies Standard Webhooks signatures (ours and the reference
library's), de-duplicates on webhook-id with bounded memory, prints one JSON line per event."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from forwarders.delivery.signing import WebhookSigner, generate_secret
from lrs.cli.demo_receiver import MAX_BODY_BYTES, DemoReceiver, ReceiverSettings, SeenIds
from lrs.cli.main import main, parser
from lrs.storage.embedded import free_port
from tests.forwarders.test_delivery import post

SECRET = generate_secret()
EVENT = {"type": "learning.completed", "data": {"statement_id": "s-1", "score": 90}}


class Printed(list[dict[str, Any]]):
    def __call__(self, line: str) -> None:
        self.append(orjson.loads(line))


def signed(
    body: bytes, msg_id: str = "evt_1", *secrets: str, at: float | None = None
) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    return WebhookSigner(list(secrets) or [SECRET]).headers(msg_id, stamp, body)


@pytest.fixture
def printed() -> Printed:
    return Printed()


def receiver_client(printed: Printed, *secrets: str, remember: int = 100) -> httpx.AsyncClient:
    settings = ReceiverSettings(secrets=secrets or (SECRET,), remember=remember)
    app = DemoReceiver(settings, write=printed).app
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rx")


@pytest.fixture
async def http(printed: Printed) -> AsyncIterator[httpx.AsyncClient]:
    async with receiver_client(printed) as client:
        yield client


async def test_an_event_signed_by_our_signer_is_accepted_and_printed(http, printed):
    body = orjson.dumps(EVENT)
    response = await http.post("/marketplace", content=body, headers=signed(body, "evt_1"))
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "webhook-id": "evt_1", "duplicate": False}
    assert printed == [
        {
            "webhook-id": "evt_1",
            "type": "learning.completed",
            "duplicate": False,
            "path": "/marketplace",
            "body": EVENT,
        }
    ]


async def test_an_event_signed_by_the_reference_library_is_accepted(http, printed):
    body = orjson.dumps(EVENT).decode()
    now = datetime.now(UTC).replace(microsecond=0)
    headers = {
        "webhook-id": "msg_ref",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_ref", now, body),
    }
    response = await http.post("/", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert printed[0]["webhook-id"] == "msg_ref" and printed[0]["body"] == EVENT


async def test_a_second_delivery_of_the_same_id_is_a_marked_duplicate_with_2xx(http, printed):
    body = orjson.dumps(EVENT)
    first = await http.post("/", content=body, headers=signed(body, "evt_dup"))
    again = await http.post("/", content=body, headers=signed(body, "evt_dup"))
    other = await http.post("/", content=body, headers=signed(body, "evt_other"))
    assert [r.status_code for r in (first, again, other)] == [200, 200, 200]
    assert again.json() == {"status": "duplicate", "webhook-id": "evt_dup", "duplicate": True}
    assert [(p["webhook-id"], p["duplicate"]) for p in printed] == [
        ("evt_dup", False),
        ("evt_dup", True),
        ("evt_other", False),
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: {**h, "webhook-signature": "v1,AAAA"}, id="wrong signature"),
        pytest.param(lambda h: {**h, "webhook-id": "evt_other"}, id="id changed"),
        pytest.param(lambda h: {k: v for k, v in h.items() if k != "webhook-signature"}, id="none"),
        pytest.param(lambda h: {**h, "webhook-timestamp": "soon"}, id="timestamp not a number"),
        pytest.param(
            lambda h: {**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")},
            id="unknown version",
        ),
    ],
)
async def test_a_bad_or_missing_signature_gets_401_and_prints_nothing(http, printed, tamper):
    body = orjson.dumps(EVENT)
    response = await http.post("/", content=body, headers=tamper(signed(body, "evt_1")))
    assert response.status_code == 401
    assert response.json()["error"] == "SignatureError"
    assert printed == []
    # the id was not remembered: the genuine delivery is still accepted
    genuine = await http.post("/", content=body, headers=signed(body, "evt_1"))
    assert genuine.json()["status"] == "accepted"


async def test_a_body_changed_after_signing_is_refused(http, printed):
    body = orjson.dumps(EVENT)
    response = await http.post("/", content=body + b" ", headers=signed(body))
    assert response.status_code == 401 and printed == []


async def test_a_timestamp_older_than_five_minutes_is_refused(http, printed):
    body = orjson.dumps(EVENT)
    stale = await http.post("/", content=body, headers=signed(body, at=time.time() - 6 * 60))
    future = await http.post("/", content=body, headers=signed(body, at=time.time() + 6 * 60))
    assert (stale.status_code, future.status_code) == (401, 401)
    assert "tolerance" in stale.json()["message"]
    recent = await http.post("/", content=body, headers=signed(body, at=time.time() - 4 * 60))
    assert recent.status_code == 200
    assert len(printed) == 1


async def test_during_a_rotation_any_signature_matching_any_secret_verifies(printed):
    old, new, unknown = generate_secret(), generate_secret(), generate_secret()
    body = orjson.dumps(EVENT)
    async with receiver_client(printed, new) as knows_new:
        both_sign = await knows_new.post("/", content=body, headers=signed(body, "a", old, new))
        only_old = await knows_new.post("/", content=body, headers=signed(body, "b", old))
    async with receiver_client(printed, old, new) as knows_both:
        only_new = await knows_both.post("/", content=body, headers=signed(body, "c", new))
        other = await knows_both.post("/", content=body, headers=signed(body, "d", unknown))
    assert [r.status_code for r in (both_sign, only_old, only_new, other)] == [200, 401, 200, 401]


async def test_a_body_that_is_signed_but_not_json_gets_400(http, printed):
    response = await http.post("/", content=b"<xml/>", headers=signed(b"<xml/>"))
    assert response.status_code == 400 and printed == []


async def test_an_oversized_body_gets_413_before_verification(http, printed):
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = await http.post("/", content=body, headers=signed(body))
    assert response.status_code == 413 and printed == []


async def test_health_answers_without_a_signature(http):
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_remembered_ids_are_bounded_least_recently_seen_forgotten_first():
    seen = SeenIds(capacity=3)
    assert [seen.add(i) for i in ("a", "b", "c")] == [True, True, True]
    assert seen.add("a") is False  # a is now the most recent
    assert seen.add("d") is True  # evicts b
    assert len(seen) == 3
    assert (seen.add("a"), seen.add("c"), seen.add("b")) == (False, False, True)


async def test_memory_stays_bounded_over_many_events(printed):
    async with receiver_client(printed, remember=5) as http:
        for n in range(20):
            body = orjson.dumps({"type": "learning.passed", "n": n})
            assert (await http.post("/", content=body, headers=signed(body, f"e{n}"))).is_success
        health = (await http.get("/healthz")).json()
    assert health["remembered"] == 5


def test_secrets_come_from_the_command_line_else_the_environment():
    a, b = generate_secret(), generate_secret()
    environ = {"LRS_DEMO_RECEIVER_SECRET": f"{a}, {b}"}
    assert ReceiverSettings.from_env(environ).secrets == (a, b)
    assert ReceiverSettings.from_env(environ, secrets=[b]).secrets == (b,)
    args = parser().parse_args(["demo-receiver", "--secret", a, "--secret", b, "--port", "9100"])
    assert (args.secret, args.port, args.host) == ([a, b], 9100, "127.0.0.1")


def test_the_command_refuses_to_start_without_a_valid_secret():
    assert main(["demo-receiver"]) == 2
    assert main(["demo-receiver", "--secret", "not-a-secret"]) == 2


# -- the real command, receiving from a real forwarder ---------------------------------------


@pytest.fixture
def demo_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = {**os.environ, "LRS_DEMO_RECEIVER_SECRET": SECRET}
    command = [sys.executable, "-m", "lrs.cli", "demo-receiver", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.1)
    yield process, url
    process.terminate()
    process.wait(10)
    assert process.stdout is not None
    process.stdout.close()


async def test_lrs_demo_receiver_gets_a_signed_completion_from_a_forwarder(
    demo_process, client, make_statement, admin, worker
):
    process, url = demo_process
    await admin.create_forwarder({"name": "demo", "url": f"{url}/crm", "secrets": [SECRET]})
    (statement_id,) = await post(client, make_statement())

    assert await worker.run_until_empty() == 1

    assert process.stdout is not None
    line = orjson.loads(process.stdout.readline())
    assert line["type"] == "learning.completed" and line["duplicate"] is False
    assert line["path"] == "/crm"
    assert line["body"]["data"]["statement_id"] == statement_id
