"""The statements a meeting produces, from the recorded sample meeting (pure)."""

from __future__ import annotations

import dataclasses

from connectors.attendance import ATTENDED, COMPLETED, RECORDING, end_statements, move_statement
from connectors.model import Connector
from connectors.providers.zoom import parse
from tests.connectors.conftest import zoom_events

CONNECTOR = Connector(
    id="c1",
    name="zoom-main",
    kind="zoom",
    activity_template="https://meetings.example.com/zoom/{meeting_id}",
    completion_threshold=0.75,
)
MEETING = "https://meetings.example.com/zoom/85746065432"


def meeting():
    events = [parse(e) for e in zoom_events()]
    moves = [e for e in events if e.kind in ("joined", "left")]
    ended = next(e for e in events if e.kind == "ended")
    recording = next(e for e in events if e.kind == "recording").recording_url
    return ended, moves, recording


def by_actor_and_verb(statements):
    return {
        (s["actor"].get("mbox") or s["actor"]["account"]["name"], s["verb"]["id"]): s
        for s in statements
    }


def test_each_participant_attends_with_merged_duration_and_ada_also_completes():
    ended, moves, recording = meeting()
    found = by_actor_and_verb(end_statements(CONNECTOR, ended, moves, recording))
    assert set(found) == {
        ("mailto:ada@example.com", ATTENDED),
        ("mailto:ada@example.com", COMPLETED),
        ("G-7C1E9A22-0002", ATTENDED),
    }
    assert found["mailto:ada@example.com", ATTENDED]["result"] == {"duration": "PT55M"}
    assert found["G-7C1E9A22-0002", ATTENDED]["result"] == {"duration": "PT30M"}
    assert found["mailto:ada@example.com", COMPLETED]["result"]["completion"] is True


def test_the_attended_statement_carries_meeting_host_and_recording():
    ended, moves, recording = meeting()
    attended = by_actor_and_verb(end_statements(CONNECTOR, ended, moves, recording))[
        "mailto:ada@example.com", ATTENDED
    ]
    assert attended["object"]["id"] == MEETING
    assert attended["object"]["definition"]["name"] == {"en-US": "xAPI 101 live class"}
    assert attended["context"]["instructor"]["account"] == {
        "homePage": "https://zoom.us",
        "name": "z8yCxjabcdEFGHfp8uQ",
    }
    assert attended["context"]["extensions"][RECORDING] == recording
    assert attended["timestamp"] == "2026-12-01T11:00:00.000Z"


def test_a_guest_is_an_account_of_the_provider():
    ended, moves, _ = meeting()
    guest = by_actor_and_verb(end_statements(CONNECTOR, ended, moves))["G-7C1E9A22-0002", ATTENDED]
    assert guest["actor"] == {
        "objectType": "Agent",
        "name": "Bob (guest)",
        "account": {"homePage": "https://zoom.us", "name": "G-7C1E9A22-0002"},
    }


def test_ids_are_deterministic_and_distinct():
    ended, moves, recording = meeting()
    first = [s["id"] for s in end_statements(CONNECTOR, ended, moves, recording)]
    again = [s["id"] for s in end_statements(CONNECTOR, ended, list(reversed(moves)), recording)]
    other = dataclasses.replace(CONNECTOR, id="c2")
    assert sorted(first) == sorted(again)
    assert len(set(first)) == len(first)
    assert set(first).isdisjoint(s["id"] for s in end_statements(other, ended, moves, recording))


def test_the_mapping_table_sends_the_completion_to_the_course_activity():
    ended, moves, _ = meeting()
    course = "https://lms.example.com/courses/xapi-101"
    mapped = dataclasses.replace(CONNECTOR, mapping={"xAPI 101 live class": course})
    found = by_actor_and_verb(end_statements(mapped, ended, moves))
    assert found["mailto:ada@example.com", COMPLETED]["object"]["id"] == course
    assert found["mailto:ada@example.com", ATTENDED]["object"]["id"] == MEETING


def test_without_a_scheduled_duration_the_actual_one_is_the_basis():
    ended, moves, _ = meeting()
    # 30 of 60 minutes: under 0.75 of the scheduled hour, but the actual meeting is what counts
    # when none is scheduled; and a half threshold lets Bob complete
    unscheduled = dataclasses.replace(ended, scheduled_minutes=None)
    half = dataclasses.replace(CONNECTOR, completion_threshold=0.5)
    found = by_actor_and_verb(end_statements(half, unscheduled, moves))
    assert ("G-7C1E9A22-0002", COMPLETED) in found
    strict = by_actor_and_verb(end_statements(CONNECTOR, unscheduled, moves))
    assert ("G-7C1E9A22-0002", COMPLETED) not in strict


def test_a_scheduled_duration_longer_than_the_meeting_raises_the_bar():
    ended, moves, _ = meeting()
    long = dataclasses.replace(ended, scheduled_minutes=120)
    found = by_actor_and_verb(end_statements(CONNECTOR, long, moves))
    assert ("mailto:ada@example.com", COMPLETED) not in found


def test_a_move_becomes_a_joined_or_left_statement_at_its_time():
    join = move_statement(CONNECTOR, parse(zoom_events()[0]))
    assert join["verb"]["id"] == "http://activitystrea.ms/schema/1.0/join"
    assert join["timestamp"] == "2026-12-01T10:00:00.000Z"
    assert join["actor"]["mbox"] == "mailto:ada@example.com"
