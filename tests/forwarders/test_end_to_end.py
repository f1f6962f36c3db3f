"""End to end, through the real HTTP API: an HRIS import of one person (two emails and an
account), statements from three actor forms of that person (an mbox in another case, an
mbox_sha1sum, an account), a marketplace and a CRM forwarder posting to two real local
receivers, a worker; each receiver gets exactly the expected bodies for that employee id,
signed so the `standardwebhooks` library verifies them, and the completion feed returns
the same events with the same ids and bodies."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from standardwebhooks.webhooks import Webhook

from forwarders.config import ForwardingSettings
from forwarders.events import event_id
from forwarders.worker import Worker
from lrs.app import create_app
from lrs.services import Services
from lrs.storage.statement_source import MongoStatementSource
from tests.conftest import basic
from tests.forwarders.conftest import ADL
from tests.forwarders.receiver import Receiver

LMS = "https://lms.corp.com"
HRIS = (
    "employee_id,email,other_emails,accounts,manager_id,department,job_code,status\n"
    f"E1001,Ada@Corp.com,ada.lovelace@corp.com,{LMS}|ada-l,E9,R&D,ENG2,active\n"
    "E1002,bob@corp.com,,,E9,Sales,SAL1,active\n"
)
SKILLS = "https://example.com/xapi/extensions/skills"
CERTIFICATE = "https://example.com/xapi/extensions/certificate"
COURSE = "http://adlnet.gov/expapi/activities/course"
FORWARDING = ForwardingSettings(allow_private=True, poll_seconds=0.05, feed_settle_seconds=0)


@pytest.fixture(scope="module")
def crm_receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def lrs(mongo_server, settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings, mongo_server.uri, forwarding=FORWARDING)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["services"]
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
            yield http, services
        await services.client.drop_database(settings.database)


async def credential(services: Services, *scopes: str) -> dict[str, str]:
    key, secret = await services.credentials.create("e2e", list(scopes))
    return {"Authorization": basic(key, secret), "X-Experience-API-Version": "2.0.0"}


def activity(name: str, path: str, **definition: Any) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"http://example.com/courses/{path}",
        "definition": {"name": {"en-US": name}, "type": COURSE, **definition},
    }


def statements() -> list[dict[str, Any]]:
    digest = hashlib.sha1(b"mailto:ada@corp.com", usedforsecurity=False).hexdigest()
    return [
        {
            "actor": {"mbox": "mailto:Ada.Lovelace@CORP.com", "name": "Ada"},
            "verb": {"id": ADL + "completed", "display": {"en-US": "completed"}},
            "object": activity("xAPI 101", "xapi-101"),
            "result": {"success": True, "score": {"scaled": 0.9}},
            "timestamp": "2025-03-04T10:00:00Z",
        },
        {
            "actor": {"mbox_sha1sum": digest},
            "verb": {"id": ADL + "passed", "display": {"en-US": "passed"}},
            "object": activity("Safety", "safety"),
            "result": {
                "success": True,
                "score": {"raw": 45, "min": 0, "max": 50},
                "extensions": {CERTIFICATE: "CERT-7"},
            },
            "timestamp": "2025-03-05T09:30:00Z",
        },
        {
            "actor": {"objectType": "Agent", "account": {"homePage": LMS, "name": "ada-l"}},
            "verb": {"id": ADL + "completed", "display": {"en-US": "completed"}},
            "object": activity("Python", "python", extensions={SKILLS: ["python", "testing"]}),
            "timestamp": "2025-03-06T08:15:00Z",
        },
    ]


def marketplace_body(event: str, statement_id: str, index: int) -> dict[str, Any]:
    day, at, course, name, outcome, score, success, skills, certificate = [
        ("2025-03-04", "10:00:00", "xapi-101", "xAPI 101", "completed", 90.0, True, [], None),
        ("2025-03-05", "09:30:00", "safety", "Safety", "passed", 90.0, True, [], "CERT-7"),
        ("2025-03-06", "08:15:00", "python", "Python", "completed", None, None,
         ["python", "testing"], None),
    ][index]  # fmt: skip
    return {
        "type": f"learning.{outcome}",
        "id": event,
        "timestamp": f"{day}T{at}Z",
        "template": {"name": "marketplace", "version": "1.0.0"},
        "data": {
            "member_id": "E1001",
            "email": "ada@corp.com",
            "learning_completed": {
                "kind": "course_completion",
                "activity_id": f"http://example.com/courses/{course}",
                "activity_name": name,
                "activity_type": COURSE,
                "outcome": outcome,
                "completed_on": day,
                "completed_at": f"{day}T{at}Z",
                "score": score,
                "success": success,
                "skills": skills,
                "badges": [],
                "certificate_id": certificate,
                "statement_id": statement_id,
            },
        },
    }


def crm_body(event: str, statement_id: str, index: int) -> dict[str, Any]:
    day, at, course, name, verb, status, score, certificate = [
        ("2025-03-04", "10:00:00", "xapi-101", "xAPI 101", "completed", "completed", 90.0, None),
        ("2025-03-05", "09:30:00", "safety", "Safety", "passed", "certified", 90.0, "CERT-7"),
        ("2025-03-06", "08:15:00", "python", "Python", "completed", "completed", None, None),
    ][index]
    return {
        "type": f"learning.{verb}",
        "id": event,
        "timestamp": f"{day}T{at}Z",
        "template": {"name": "crm", "version": "1.0.0"},
        "data": {
            "contact": {"external_id": "E1001", "email": "ada@corp.com"},
            "certification": {
                "name": name,
                "activity_id": f"http://example.com/courses/{course}",
                "status": status,
                "date": day,
                "certificate_id": certificate,
                "score": score,
            },
            "activity_log": {
                "type": "learning",
                "external_id": event,
                "action": verb,
                "subject": name,
                "occurred_at": f"{day}T{at}Z",
            },
        },
    }


async def make_forwarder(http, admin, receiver: Receiver, name: str) -> dict[str, Any]:
    spec = {"name": name, "kind": name, "url": receiver.url(name)}
    response = await http.post("/admin/forwarders", json=spec, headers=admin)
    assert response.status_code == 201, response.text
    receiver.verify_with(name, response.json()["secret"])
    return dict(response.json())


async def test_one_person_under_three_actor_forms_reaches_the_marketplace_and_the_crm(
    lrs, receiver, crm_receiver
):
    http, services = lrs
    crm_receiver.reset()
    admin = await credential(services, "admin")
    imported = await http.post(
        "/admin/identities", content=HRIS, headers={**admin, "content-type": "text/csv"}
    )
    assert (imported.status_code, imported.json()["created"]) == (200, 2)
    market = await make_forwarder(http, admin, receiver, "marketplace")
    crm = await make_forwarder(http, admin, crm_receiver, "crm")
    lms = await credential(services, "statements/write")
    posted = await http.post("/xapi/statements", json=statements(), headers=lms)
    assert posted.status_code == 200, posted.text
    ids = posted.json()

    db = services.client[services.settings.database]
    async with Worker(db, FORWARDING, statements=MongoStatementSource(db)) as worker:
        assert await worker.run_until_empty() == 6

    for forwarder, target, render in (
        (market, receiver, marketplace_body),
        (crm, crm_receiver, crm_body),
    ):
        deliveries = target.on(forwarder["name"])
        events = [event_id(forwarder["id"], i) for i in ids]
        assert sorted(d.id for d in deliveries) == sorted(events)  # each exactly once
        assert {d.id: d.payload for d in deliveries} == {
            e: render(e, i, n) for n, (e, i) in enumerate(zip(events, ids, strict=True))
        }
        for delivery in deliveries:
            assert delivery.verified is True
            Webhook(forwarder["secret"]).verify(delivery.body, delivery.headers)

        reader = await credential(services, "feeds/read")
        feed = await http.get(
            "/feeds/completions", params={"forwarder": forwarder["id"]}, headers=reader
        )
        page = feed.json()
        assert sorted(e["id"] for e in page["events"]) == sorted(events)
        in_order = sorted(page["events"], key=lambda e: (e["ready"], e["id"]))
        assert page["events"] == in_order
        assert {e["id"]: e["payload"] for e in page["events"]} == {
            d.id: d.payload for d in deliveries
        }
        assert {e["state"] for e in page["events"]} == {"delivered"}
        assert page["more"] is None

    everything = await http.get("/feeds/completions", headers=await credential(services, "admin"))
    assert len(everything.json()["events"]) == 6
