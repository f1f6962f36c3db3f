"""Recording links that come after the meeting's end still reach the statements: stored
statements are immutable, so the link gets a statement of its own, one per meeting
occurrence (the host `shared` the meeting, the link as the recording extension)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.attendance import ATTENDED, INSTANCE, RECORDING, SHARED
from tests.connectors.conftest import post_event, zoom_events
from tests.connectors.test_webex_webhook import post, webex_events

ZOOM_RECORDING = "https://example.zoom.us/rec/share/abcdEFGH1234"


async def drain(services) -> int:
    return await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))


async def of_verb(client, verb: str) -> list[dict]:
    response = await client.get("/xapi/statements", params={"verb": verb, "limit": 100})
    return response.json()["statements"]


async def test_a_recording_after_the_attendance_was_issued_gets_its_own_statement(
    zoom_connector, provider, client, services
):
    path = "/connectors/" + zoom_connector["id"]
    *meeting, recording = zoom_events()
    for event in meeting:
        await post_event(provider, path, event)
    await drain(services)
    attended = await of_verb(client, ATTENDED)
    assert len(attended) == 2
    assert all(RECORDING not in s["context"]["extensions"] for s in attended)
    assert await of_verb(client, SHARED) == []

    assert (await post_event(provider, path, recording)).json() == {"status": "accepted"}
    assert (await post_event(provider, path, recording)).json() == {"status": "duplicate"}
    await drain(services)
    (shared,) = await of_verb(client, SHARED)
    assert shared["context"]["extensions"][RECORDING] == ZOOM_RECORDING
    assert shared["context"]["extensions"][INSTANCE] == "4444AAAiAAAAAiAiAiiAii=="
    assert shared["object"]["id"] == "https://meetings.example.com/zoom/85746065432"
    assert shared["actor"]["account"] == {
        "homePage": "https://zoom.us",
        "name": "z8yCxjabcdEFGHfp8uQ",
    }
    assert len(await of_verb(client, ATTENDED)) == 2  # the attendance is not issued again


async def test_a_recording_known_at_the_end_is_on_the_attended_statements_too(
    zoom_connector, provider, client, services
):
    for event in zoom_events():
        await post_event(provider, "/connectors/" + zoom_connector["id"], event)
    await drain(services)
    attended = await of_verb(client, ATTENDED)
    assert {s["context"]["extensions"][RECORDING] for s in attended} == {ZOOM_RECORDING}
    assert len(await of_verb(client, SHARED)) == 1


async def test_a_webex_recording_created_after_the_end_names_the_meeting_when_no_host(
    webex_connector, provider, client, services
):
    for event in webex_events():
        await post(provider, webex_connector, event)
    await drain(services)
    series = "870f51ff287b41be84648412901e0402"
    created = {
        "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svcmVj",
        "name": "recordings",
        "resource": "recordings",
        "event": "created",
        "data": {
            "id": "4f914b1dfe3c4d11a61730f18c0f5387",
            "meetingId": f"{series}_I_166022169160077044",
            "playbackUrl": "https://example.webex.com/recordingservice/sites/example/recording/play/4f91",
        },
    }
    assert (await post(provider, webex_connector, created)).status_code == 200
    await drain(services)
    (shared,) = await of_verb(client, SHARED)
    assert shared["actor"]["account"]["name"] == f"meeting:{series}"
    assert shared["context"]["extensions"][RECORDING].endswith("/play/4f91")
