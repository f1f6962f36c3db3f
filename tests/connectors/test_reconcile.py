"""Reconciliation planning (pure): a provider's report against the stored webhook events."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connectors.providers import reports, zoom
from connectors.providers.shape import ShapeError
from connectors.reconcile import plan
from tests.connectors.conftest import DATA, zoom_events


def zoom_report() -> reports.AttendanceReport:
    return reports.parse(
        "zoom", json.loads((DATA / "zoom_past_meeting_participants.json").read_text())
    )


def stored(*, without=()):
    events = [zoom.parse(e) for i, e in enumerate(zoom_events()) if i not in without]
    return [e for e in events if not isinstance(e, zoom.UrlValidation)]


def ended_of(events):
    return next(e for e in events if e.kind == "ended")


BOB_LEFT = 6  # the line of zoom_meeting.jsonl where Bob leaves at 10:40


def test_the_zoom_report_has_one_record_per_person_with_every_stay():
    report = zoom_report()
    ada, bob = report.records
    assert ada.participant.key == "mbox:ada@example.com" and len(ada.intervals) == 3
    assert bob.participant.email == "bob@example.com"  # normalised as identity resolution does
    assert bob.ids == frozenset({"16778240"})


def test_a_report_in_line_with_the_webhooks_plans_nothing():
    raw = json.loads((DATA / "zoom_past_meeting_participants.json").read_text())
    raw["participants"][1]["user_email"] = ""
    events = stored()
    assert plan(reports.parse("zoom", raw), events, ended_of(events)).changes == []


def test_a_missed_left_is_added_at_the_reports_leave_time():
    events = stored(without={BOB_LEFT})
    planned = plan(zoom_report(), events, ended_of(events))
    left = [e for e in planned.events if e.kind == "left"]
    assert [(e.participant.key, e.at) for e in left] == [
        ("account:G-7C1E9A22-0002", datetime(2026, 12, 1, 10, 40, tzinfo=UTC))
    ]
    assert left[0].instance == ended_of(events).instance and left[0].type == "reconcile"


def test_a_guests_email_known_only_to_the_report_is_attached():
    events = stored()
    planned = plan(zoom_report(), events, ended_of(events))
    assert planned.changes == [
        {"change": "email", "participant": "account:G-7C1E9A22-0002", "email": "bob@example.com"}
    ]
    (identified,) = planned.events
    assert identified.kind == "identified"
    assert identified.former_key == "account:G-7C1E9A22-0002"
    assert identified.participant.key == "mbox:bob@example.com"
    assert identified.participant.account == "G-7C1E9A22-0002"


def test_planning_again_over_the_planned_events_adds_nothing():
    events = stored(without={BOB_LEFT})
    first = plan(zoom_report(), events, ended_of(events))
    assert first.events
    assert plan(zoom_report(), events + first.events, ended_of(events)).events == []


def test_times_within_the_tolerance_match_and_an_unseen_person_gets_every_stay():
    events = stored()
    raw = json.loads((DATA / "zoom_past_meeting_participants.json").read_text())
    raw["participants"][0]["join_time"] = "2026-12-01T10:00:40Z"
    raw["participants"].append(
        {
            "id": "",
            "user_id": "999",
            "name": "Cy",
            "user_email": "cy@example.com",
            "join_time": "2026-12-01T10:05:00Z",
            "leave_time": "2026-12-01T10:15:00Z",
        }
    )
    planned = plan(reports.parse("zoom", raw), events, ended_of(events))
    assert [(c["change"], c["participant"]) for c in planned.changes] == [
        ("email", "account:G-7C1E9A22-0002"),
        ("joined", "mbox:cy@example.com"),
        ("left", "mbox:cy@example.com"),
    ]


def test_a_meeting_whose_end_never_arrived_gets_the_reports_end():
    events = [e for e in stored() if e.kind != "ended"]
    planned = plan(zoom_report(), events, replace(events[0], participant=None, at=None))
    ended = [e for e in planned.events if e.kind == "ended"]
    assert [e.end for e in ended] == [datetime(2026, 12, 1, 11, 0, tzinfo=UTC)]
    assert ended[0].meeting_id == "85746065432" and ended[0].scheduled_minutes == 60


def test_webex_participants_and_teams_records_parse_into_stays():
    webex = reports.parse(
        "webex", json.loads((DATA / "webex_meeting_participants.json").read_text())
    )
    assert [(r.participant.key, len(r.intervals)) for r in webex.records] == [
        ("mbox:ada@example.com", 1),
        ("account:dc89b0ab-9e57", 1),
    ]
    teams = reports.parse("teams", json.loads((DATA / "teams_attendance_report.json").read_text()))
    assert teams.report_id and teams.bounds() == (teams.start, teams.end)


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("zoom", {"participants": {}}, "report.participants must be an array"),
        (
            "zoom",
            {
                "participants": [
                    {
                        "name": "x",
                        "join_time": "2026-12-01T10:00:00Z",
                        "leave_time": "2026-12-01T10:01:00Z",
                    }
                ]
            },
            "report.participants[0] needs an email or an id",
        ),
        (
            "zoom",
            {
                "participants": [
                    {
                        "id": "a",
                        "join_time": "2026-12-01T10:05:00Z",
                        "leave_time": "2026-12-01T10:01:00Z",
                    }
                ]
            },
            "report.participants[0].leave_time is before join_time",
        ),
        (
            "webex",
            {"items": [{"id": "a", "joinedTime": "yesterday", "leftTime": "x"}]},
            "report.items[0].joinedTime must be an ISO 8601 date-time",
        ),
        ("teams", [], "report must be an object"),
    ],
)
def test_a_report_not_in_the_providers_shape_names_the_field(kind, body, message):
    with pytest.raises(ShapeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reports.parse(kind, body)
