"""The statements a meeting produces (pure): joined/left per move, and at the end one
`attended` per participant plus a `completed` for those who met the connector's threshold.

Ids are UUIDv5 of (connector, meeting instance, participant, event), so a retried delivery,
a repeated `meeting.ended` or a reprocessed inbox event produces the same statements, which
the store accepts as equivalent re-posts. Conventions follow the xAPI virtual-classroom use
of ADL's `attended` and Activity Streams' `join`/`leave` verbs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors import intervals
from connectors.model import Connector, MeetingEvent, Participant

NAMESPACE = uuid.UUID("7f0c6f5e-3b8e-5d2a-9a57-0c1c2d6f8e41")
ATTENDED = "http://adlnet.gov/expapi/verbs/attended"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
JOINED = "http://activitystrea.ms/schema/1.0/join"
LEFT = "http://activitystrea.ms/schema/1.0/leave"
MEETING_TYPE = "http://adlnet.gov/expapi/activities/meeting"
EXTENSIONS = "https://w3id.org/xapi/lrs-connectors/extensions/"
RECORDING = EXTENSIONS + "recording"
INSTANCE = EXTENSIONS + "meeting-instance"
HOME_PAGES = {
    "zoom": "https://zoom.us",
    "webex": "https://webex.com",
    "teams": "https://teams.microsoft.com",
}
PLATFORMS = {"zoom": "Zoom", "webex": "Webex", "teams": "Microsoft Teams"}


def statement_id(connector: Connector, instance: str, participant: str, event: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join((connector.id, instance, participant, event))))


def actor(connector: Connector, person: Participant) -> dict[str, Any]:
    """The email when known (normalised); otherwise an account of the provider."""
    agent: dict[str, Any] = {"objectType": "Agent"}
    if person.name:
        agent["name"] = person.name
    if person.email:
        agent["mbox"] = "mailto:" + person.email
    else:
        agent["account"] = {"homePage": HOME_PAGES[connector.kind], "name": person.account}
    return agent


def iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    mins, secs = divmod(rest, 60)
    parts = (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return "PT" + parts + (f"{secs}S" if secs or not parts else "")


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _activity(iri: str, topic: str) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": MEETING_TYPE}
    if topic:
        definition["name"] = {"en-US": topic}
    return {"objectType": "Activity", "id": iri, "definition": definition}


def _bare(iri: str) -> dict[str, Any]:
    """A course activity the LRS already knows: its definition is the course's, not ours."""
    return {"objectType": "Activity", "id": iri}


def _context(connector: Connector, meeting: MeetingEvent, recording: str) -> dict[str, Any]:
    extensions = {INSTANCE: meeting.instance}
    if recording:
        extensions[RECORDING] = recording
    context: dict[str, Any] = {"platform": PLATFORMS[connector.kind], "extensions": extensions}
    if meeting.host:
        home = HOME_PAGES[connector.kind]
        context["instructor"] = {
            "objectType": "Agent",
            "account": {"homePage": home, "name": meeting.host},
        }
    return context


def move_statement(connector: Connector, event: MeetingEvent) -> dict[str, Any]:
    """`joined` or `left` for one participant event."""
    assert event.participant is not None and event.at is not None  # noqa: S101 - parser ensures
    verb = JOINED if event.kind == "joined" else LEFT
    return {
        "id": statement_id(
            connector, event.instance, event.participant.key, f"{event.kind}@{_stamp(event.at)}"
        ),
        "actor": actor(connector, event.participant),
        "verb": {"id": verb, "display": {"en-US": event.kind}},
        "object": _activity(connector.activity_for(event.meeting_id), event.topic),
        "context": _context(connector, event, ""),
        "timestamp": _stamp(event.at),
    }


@dataclass(frozen=True, slots=True)
class Presence:
    participant: Participant
    seconds: int


def presences(moves: Sequence[MeetingEvent], start: datetime, end: datetime) -> list[Presence]:
    """Merged presence per participant, in order of first appearance."""
    people: dict[str, Participant] = {}
    by_person: dict[str, list[tuple[datetime, str]]] = {}
    for move in moves:
        if move.participant is None or move.at is None:
            continue
        people.setdefault(move.participant.key, move.participant)
        by_person.setdefault(move.participant.key, []).append((move.at, move.kind))
    return [
        Presence(people[key], intervals.seconds(intervals.pair(found, start, end)))
        for key, found in by_person.items()
    ]


def meeting_bounds(ended: MeetingEvent, moves: Sequence[MeetingEvent]) -> tuple[datetime, datetime]:
    times = [m.at for m in moves if m.at is not None]
    end = ended.end or max(times, default=None) or ended.start
    start = ended.start or min(times, default=None) or end
    assert start is not None and end is not None  # noqa: S101 - ended always has an end time
    return start, max(start, end)


def end_statements(
    connector: Connector,
    ended: MeetingEvent,
    moves: Sequence[MeetingEvent],
    recording: str = "",
) -> list[dict[str, Any]]:
    """One `attended` per participant, and a `completed` for each who met the threshold."""
    start, end = meeting_bounds(ended, moves)
    basis = (ended.scheduled_minutes or 0) * 60 or int((end - start).total_seconds())
    statements = []
    for presence in presences(moves, start, end):
        statements.append(_attended(connector, ended, presence, end, recording))
        if basis and presence.seconds >= connector.completion_threshold * basis:
            statements.append(_completed(connector, ended, presence, end, recording))
    return statements


def _attended(
    connector: Connector, ended: MeetingEvent, presence: Presence, end: datetime, recording: str
) -> dict[str, Any]:
    return {
        "id": statement_id(connector, ended.instance, presence.participant.key, "attended"),
        "actor": actor(connector, presence.participant),
        "verb": {"id": ATTENDED, "display": {"en-US": "attended"}},
        "object": _activity(connector.activity_for(ended.meeting_id), ended.topic),
        "result": {"duration": iso_duration(presence.seconds)},
        "context": _context(connector, ended, recording),
        "timestamp": _stamp(end),
    }


def _completed(
    connector: Connector, ended: MeetingEvent, presence: Presence, end: datetime, recording: str
) -> dict[str, Any]:
    iri = connector.completion_activity(ended.meeting_id, ended.topic)
    meeting = connector.activity_for(ended.meeting_id)
    return {
        "id": statement_id(connector, ended.instance, presence.participant.key, "completed"),
        "actor": actor(connector, presence.participant),
        "verb": {"id": COMPLETED, "display": {"en-US": "completed"}},
        "object": _activity(iri, ended.topic) if iri == meeting else _bare(iri),
        "result": {"completion": True, "duration": iso_duration(presence.seconds)},
        "context": _context(connector, ended, recording),
        "timestamp": _stamp(end),
    }
