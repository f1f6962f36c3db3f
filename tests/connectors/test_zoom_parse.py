"""Zoom's event shapes → MeetingEvent, on the recorded sample meeting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.providers.shape import ShapeError
from connectors.providers.zoom import UrlValidation, parse
from tests.connectors.conftest import zoom_events


def test_a_join_carries_the_meeting_occurrence_and_the_normalised_email():
    event = parse(zoom_events()[0])
    assert event.kind == "joined"
    assert (event.meeting_id, event.instance) == ("85746065432", "4444AAAiAAAAAiAiAiiAii==")
    assert event.at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert event.participant is not None
    assert event.participant.email == "ada@example.com"
    assert event.participant.key == "mbox:ada@example.com"
    assert event.scheduled_minutes == 60


def test_a_guest_without_email_is_keyed_by_its_participant_uuid():
    event = parse(zoom_events()[1])
    assert event.participant is not None
    assert event.participant.email == ""
    assert event.participant.key == "account:G-7C1E9A22-0002"


def test_meeting_ended_carries_the_end_time_and_recording_the_share_url():
    events = [parse(e) for e in zoom_events()]
    ended, recording = events[-2], events[-1]
    assert ended.kind == "ended" and ended.end == datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert recording.recording_url == "https://example.zoom.us/rec/share/abcdEFGH1234"


def test_webinar_twins_parse_like_meetings():
    body = zoom_events()[0]
    body["event"] = "webinar.participant_joined"
    assert parse(body).kind == "joined"


def test_url_validation_yields_the_plain_token():
    body = {"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}}
    assert parse(body) == UrlValidation("abc")


def test_an_unknown_event_type_is_ignored_not_refused():
    assert parse({"event": "meeting.sharing_started", "payload": {}}).kind == "ignored"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.pop("event"), "body.event is required"),
        (lambda b: b["payload"].pop("object"), "payload.object must be an object"),
        (lambda b: b["payload"]["object"].pop("uuid"), "payload.object.uuid is required"),
        (
            lambda b: b["payload"]["object"]["participant"].update(join_time="yesterday"),
            "join_time must be an ISO 8601",
        ),
        (
            lambda b: b["payload"]["object"]["participant"].update(
                email="", id="", participant_uuid="", user_id="", participant_user_id=""
            ),
            "needs an email or an id",
        ),
        (lambda b: b["payload"]["object"].update(duration="60"), "whole number of minutes"),
    ],
)
def test_a_body_not_in_zoom_shape_names_the_field(mutate, reason):
    body = zoom_events()[0]
    mutate(body)
    with pytest.raises(ShapeError, match=reason):
        parse(body)


def test_a_non_object_body_is_refused():
    with pytest.raises(ShapeError, match="body must be an object"):
        parse([1, 2])
