"""POST /connectors/{id} for Zoom, through the real app and database: signed deliveries are
stored, answered, then turned into statements through the ingest path."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

from connectors.attendance import ATTENDED, COMPLETED
from tests.connectors.conftest import SECRET, post_event, zoom_events, zoom_headers


async def drain_later(services) -> int:
    """Process as the background loop would once meeting.ended's settle time has passed."""
    return await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))


async def statements(client, verb: str) -> list[dict]:
    response = await client.get("/xapi/statements", params={"verb": verb, "limit": 100})
    assert response.status_code == 200
    return response.json()["statements"]


def path_of(connector) -> str:
    return "/connectors/" + connector["id"]


async def test_create_answers_201_with_id_and_the_absolute_url(zoom_connector):
    assert zoom_connector["url"] == "http://lrs.test/connectors/" + zoom_connector["id"]
    assert "secret" not in zoom_connector


async def test_a_recorded_meeting_becomes_attended_and_completed_statements(
    zoom_connector, provider, client, services
):
    for event in zoom_events():
        response = await post_event(provider, path_of(zoom_connector), event)
        assert response.status_code == 200, response.text
    await drain_later(services)
    attended = await statements(client, ATTENDED)
    completed = await statements(client, COMPLETED)
    assert sorted(s["result"]["duration"] for s in attended) == ["PT30M", "PT55M"]
    assert [s["actor"]["mbox"] for s in completed] == ["mailto:ada@example.com"]
    authority = attended[0]["authority"]["account"]
    assert authority["name"] == "connector:" + zoom_connector["id"]


async def test_retries_and_a_repeated_meeting_ended_create_nothing_twice(
    zoom_connector, provider, client, services
):
    events = zoom_events()
    for event in [*events, *events, events[-2]]:
        response = await post_event(provider, path_of(zoom_connector), event)
        assert response.status_code == 200
    await drain_later(services)
    again = await post_event(provider, path_of(zoom_connector), events[-2])
    assert again.json() == {"status": "duplicate"}
    await drain_later(services)
    assert len(await statements(client, ATTENDED)) == 2
    assert len(await statements(client, COMPLETED)) == 1
    assert len(await statements(client, "http://activitystrea.ms/schema/1.0/join")) == 4


async def test_a_bad_signature_is_401_and_stores_nothing(zoom_connector, provider, services):
    body = json.dumps(zoom_events()[0]).encode()
    headers = zoom_headers(body, secret="not-the-secret")
    response = await provider.post(path_of(zoom_connector), content=body, headers=headers)
    assert response.status_code == 401
    assert "does not match" in response.json()["message"]
    assert await services.connectors.inbox.collection.count_documents({}) == 0


async def test_a_stale_timestamp_is_401_and_stores_nothing(zoom_connector, provider, services):
    stale = int(time.time()) - 301
    response = await post_event(provider, path_of(zoom_connector), zoom_events()[0], at=stale)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["message"]
    assert await services.connectors.inbox.collection.count_documents({}) == 0


async def test_nothing_is_parsed_before_the_signature_is_checked(zoom_connector, provider):
    body = b"{not json at all"
    headers = zoom_headers(body, secret="wrong")
    response = await provider.post(path_of(zoom_connector), content=body, headers=headers)
    assert response.status_code == 401  # not 400: the body was never read as JSON


async def test_a_signed_body_not_in_zoom_shape_is_400_with_the_reason(zoom_connector, provider):
    event = zoom_events()[0]
    del event["payload"]["object"]["uuid"]
    response = await post_event(provider, path_of(zoom_connector), event)
    assert response.status_code == 400
    assert "payload.object.uuid is required" in response.json()["message"]
    body = b"[1"
    response = await provider.post(
        path_of(zoom_connector), content=body, headers=zoom_headers(body)
    )
    assert response.status_code == 400 and "not JSON" in response.json()["message"]


async def test_an_unknown_event_type_is_202_recorded_and_ignored(
    zoom_connector, provider, services
):
    event = {"event": "meeting.sharing_started", "event_ts": 1, "payload": {"object": {}}}
    response = await post_event(provider, path_of(zoom_connector), event)
    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "event": "meeting.sharing_started"}
    stored = await services.connectors.inbox.collection.find_one({})
    assert stored["state"] == "ignored"
    assert await services.connectors.processor.drain() == 0


async def test_an_unknown_connector_is_404(provider):
    response = await post_event(provider, "/connectors/0123456789abcdef", zoom_events()[0])
    assert response.status_code == 404


async def test_a_connector_is_reached_by_id_only_not_by_name(zoom_connector, provider):
    response = await post_event(provider, "/connectors/zoom-main", zoom_events()[0])
    assert response.status_code == 404


async def test_an_oversized_body_is_413_before_anything_else(zoom_connector, provider):
    body = b"{" + b" " * (256 * 1024) + b"}"
    response = await provider.post(
        path_of(zoom_connector), content=body, headers=zoom_headers(body)
    )
    assert response.status_code == 413


async def test_url_validation_answers_the_plain_and_encrypted_token(zoom_connector, provider):
    event = {"event": "endpoint.url_validation", "event_ts": 1, "payload": {"plainToken": "qgg8"}}
    response = await post_event(provider, path_of(zoom_connector), event)
    assert response.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8", "encryptedToken": expected}


async def test_rejections_are_counted_in_metrics_and_on_the_connector(
    zoom_connector, provider, admin
):
    path = path_of(zoom_connector)
    await post_event(provider, path, zoom_events()[0])
    await post_event(provider, path, zoom_events()[1], secret="wrong")
    await post_event(provider, "/connectors/ffff", zoom_events()[0])
    view = (await admin.get("/admin/connectors/" + zoom_connector["id"])).json()
    assert view["stats"]["accepted"] == 1
    assert view["stats"]["rejected"] == 1
    assert view["stats"]["last_error"] == "bad_signature"
    assert view["stats"]["last_event_type"] == "meeting.participant_joined"
    metrics = (await admin.get("/metrics")).text
    assert 'lrs_connector_deliveries_total{kind="zoom",outcome="accepted"} 1.0' in metrics
    assert 'lrs_connector_deliveries_total{kind="zoom",outcome="bad_signature"} 1.0' in metrics
    assert (
        'lrs_connector_deliveries_total{kind="unknown",outcome="unknown_connector"} 1.0' in metrics
    )


async def test_a_provider_401_names_the_signature_scheme_and_never_invites_basic_auth(
    zoom_connector, provider
):
    response = await post_event(provider, path_of(zoom_connector), zoom_events()[0], secret="x")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert not challenge.lower().startswith("basic")
    assert challenge.startswith("Zoom-Signature") and "x-zm-signature" in challenge
    assert response.headers["x-experience-api-version"]
