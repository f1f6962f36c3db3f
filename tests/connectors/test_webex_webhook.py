"""POST /connectors/{id} for Webex: X-Spark-Signature, envelopes, statements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from connectors.attendance import ATTENDED, COMPLETED
from connectors.providers.signing import webex_signature
from connectors.providers.webex import parse
from tests.connectors.conftest import DATA, WEBEX_SECRET as SECRET


def webex_events() -> list[dict]:
    return [json.loads(line) for line in (DATA / "webex_meeting.jsonl").read_text().splitlines()]


async def post(provider, connector, event, secret=SECRET):
    body = json.dumps(event).encode()
    headers = {
        "content-type": "application/json",
        "x-spark-signature": webex_signature(secret, body),
    }
    return await provider.post("/connectors/" + connector["id"], content=body, headers=headers)


def test_a_participant_is_keyed_by_normalised_email_or_by_its_id():
    ada, guest = parse(webex_events()[0]), parse(webex_events()[1])
    assert ada.participant.key == "mbox:ada@example.com"
    assert guest.participant.key == "account:dc89b0ab-9e57"
    assert ada.meeting_id == "870f51ff287b41be84648412901e0402"
    assert ada.instance.endswith("_I_166022169160077044")


async def test_a_webex_meeting_becomes_statements(webex_connector, provider, client, services):
    for event in webex_events():
        response = await post(provider, webex_connector, event)
        assert response.status_code == 200, response.text
    await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))
    attended = (await client.get("/xapi/statements", params={"verb": ATTENDED})).json()
    durations = sorted(s["result"]["duration"] for s in attended["statements"])
    assert durations == ["PT10M", "PT40M"]
    assert attended["statements"][0]["object"]["id"] == (
        "https://meetings.example.com/webex/870f51ff287b41be84648412901e0402"
    )
    completed = (await client.get("/xapi/statements", params={"verb": COMPLETED})).json()
    assert [s["actor"]["mbox"] for s in completed["statements"]] == ["mailto:ada@example.com"]


async def test_a_wrong_webex_signature_is_401_and_stores_nothing(
    webex_connector, provider, services
):
    response = await post(provider, webex_connector, webex_events()[0], secret="wrong")
    assert response.status_code == 401
    assert await services.connectors.inbox.collection.count_documents({}) == 0


async def test_an_unknown_webex_resource_is_202(webex_connector, provider):
    event = {**webex_events()[0], "resource": "messages", "event": "created"}
    response = await post(provider, webex_connector, event)
    assert response.status_code == 202


async def test_a_webex_401_names_its_signature_scheme_not_basic(webex_connector, provider):
    response = await post(provider, webex_connector, webex_events()[0], secret="wrong")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Webex-Signature")
