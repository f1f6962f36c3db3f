"""The statements a meeting produces (pure): joined/left per move, and at the end one
`attended` per participant plus a `completed` for those who met the connector's threshold.

Ids are UUIDv5 of (connector, meeting instance, participant, event), so a retried delivery,
a repeated `meeting.ended` or a reprocessed inbox event produces the same statements, which
the store accepts as equivalent re-posts. Conventions follow the xAPI virtual-classroom use
of ADL's `attended` and Activity Streams' `join`/`leave` verbs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors import intervals
from connectors.model import Connector, MeetingEvent, Participant

NAMESPACE = uuid.UUID("7f0c6f5e-3b8e-5d2a-9a57-0c1c2d6f8e41")
ATTENDED = "http://adlnet.gov/expapi/verbs/attended"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
JOINED = "http://activitystrea.ms/schema/1.0/join"
LEFT = "http://activitystrea.ms/schema/1.0/leave"
SHARED = "http://activitystrea.ms/schema/1.0/share"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
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
    formers: tuple[str, ...] = ()
    """Keys the participant had before an `identified` event named them (a guest's id)."""


def presences(
    moves: Sequence[MeetingEvent],
    start: datetime,
    end: datetime,
    identified: Iterable[MeetingEvent] = (),
) -> list[Presence]:
    """Merged presence per participant, in order of first appearance; a participant named by
    an `identified` event is counted under the new key, with their earlier moves."""
    renamed = {e.former_key: e.participant for e in identified if e.participant is not None}
    people: dict[str, Participant] = {}
    formers: dict[str, set[str]] = {}
    by_person: dict[str, list[tuple[datetime, str]]] = {}
    for move in moves:
        if move.participant is None or move.at is None:
            continue
        person = renamed.get(move.participant.key, move.participant)
        people.setdefault(person.key, person)
        if person.key != move.participant.key:
            formers.setdefault(person.key, set()).add(move.participant.key)
        by_person.setdefault(person.key, []).append((move.at, move.kind))
    return [
        Presence(
            people[key],
            intervals.seconds(intervals.pair(found, start, end)),
            tuple(sorted(formers.get(key, ()))),
        )
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
    identified: Sequence[MeetingEvent] = (),
) -> list[dict[str, Any]]:
    """One `attended` per participant, and a `completed` for each who met the threshold."""
    return [
        statement
        for _, attended, completed in _plan(connector, ended, moves, recording, identified)
        for statement in (attended, completed)
        if statement is not None
    ]


Planned = tuple[Presence, dict[str, Any], dict[str, Any] | None]


def _plan(
    connector: Connector,
    ended: MeetingEvent,
    moves: Sequence[MeetingEvent],
    recording: str,
    identified: Sequence[MeetingEvent],
) -> list[Planned]:
    start, end = meeting_bounds(ended, moves)
    basis = (ended.scheduled_minutes or 0) * 60 or int((end - start).total_seconds())
    planned: list[Planned] = []
    for presence in presences(moves, start, end, identified):
        met = basis and presence.seconds >= connector.completion_threshold * basis
        planned.append(
            (
                presence,
                _attended(connector, ended, presence, end, recording),
                _completed(connector, ended, presence, end, recording) if met else None,
            )
        )
    return planned


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


# -- a meeting's attendance issued again, after reconciliation -------------------------------


@dataclass(frozen=True, slots=True)
class Issued:
    """What a meeting's end issued for one participant: kept with the inbox's `ended` event so
    that a later revision knows what to leave, void or replace."""

    key: str
    attended: str
    completed: str = ""
    digest: str = ""

    def as_doc(self) -> dict[str, str]:
        return {
            "key": self.key,
            "attended": self.attended,
            "completed": self.completed,
            "digest": self.digest,
        }


@dataclass(slots=True)
class Outcome:
    statements: list[dict[str, Any]] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)


def basis(events: Iterable[MeetingEvent]) -> str:
    """A digest of the presence evidence (moves and identifications) an end was computed
    from: a reconciliation that changes it asks for the attendance to be issued again."""
    kinds = ("joined", "left", "identified")
    found = sorted(e.identity() for e in events if e.kind in kinds)
    return hashlib.sha256("\n".join(found).encode()).hexdigest()[:32]


def _digest(attended: dict[str, Any]) -> str:
    shown = json.dumps([attended["actor"], attended["result"]], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def meeting_agent(connector: Connector, meeting: MeetingEvent) -> dict[str, Any]:
    """Who speaks for the meeting (recordings, corrections): the host when the provider named
    one, else the meeting itself as an account of the provider."""
    name = meeting.host or f"meeting:{meeting.meeting_id or meeting.instance}"
    return {
        "objectType": "Agent",
        "account": {"homePage": HOME_PAGES[connector.kind], "name": name},
    }


def void_statement(
    connector: Connector, meeting: MeetingEvent, target: str, at: datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(NAMESPACE, "voided|" + target)),
        "actor": meeting_agent(connector, meeting),
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
        "timestamp": _stamp(at),
    }


def outcome(
    connector: Connector,
    ended: MeetingEvent,
    moves: Sequence[MeetingEvent],
    recording: str = "",
    identified: Sequence[MeetingEvent] = (),
    previous: Sequence[Issued] = (),
) -> Outcome:
    """The statements a meeting's end adds, given what an earlier end already issued.

    With nothing issued before, these are `end_statements`. Otherwise stored statements are
    immutable, so a participant whose attendance changed gets the old `attended` voided and a
    new one (its id names the new content); a `completed` stays once issued to the same
    person, is voided when the threshold is no longer met or the person turned out to be
    someone else (a guest identified by email), and is issued when newly met.
    """
    before = {issued.key: issued for issued in previous}
    result = Outcome()
    _, end = meeting_bounds(ended, moves)
    for presence, attended, completed in _plan(connector, ended, moves, recording, identified):
        keys = (presence.participant.key, *presence.formers)
        prior = next((before.pop(k) for k in keys if k in before), None)
        key = presence.participant.key
        made, issued = _revise(connector, ended, end, key, (attended, completed), prior)
        result.statements.extend(made)
        result.issued.append(issued)
    result.issued.extend(before.values())
    return result


def _revise(
    connector: Connector,
    ended: MeetingEvent,
    end: datetime,
    key: str,
    fresh: tuple[dict[str, Any], dict[str, Any] | None],
    prior: Issued | None,
) -> tuple[list[dict[str, Any]], Issued]:
    attended, completed = fresh
    digest = _digest(attended)
    if prior is None:
        first = [attended] if completed is None else [attended, completed]
        return first, Issued(key, attended["id"], completed["id"] if completed else "", digest)
    made: list[dict[str, Any]] = []
    attended_id = prior.attended
    if prior.digest != digest or prior.key != key:
        attended_id = statement_id(connector, ended.instance, key, f"attended#{digest}")
        replaced = {**attended, "id": attended_id}
        made += [void_statement(connector, ended, prior.attended, end), replaced]
    same_person = prior.key == key
    completed_id = prior.completed if completed is not None and same_person else ""
    if prior.completed and not completed_id:
        made.append(void_statement(connector, ended, prior.completed, end))
    if completed is not None and not completed_id:
        made.append(completed)
        completed_id = completed["id"]
    return made, Issued(key, attended_id, completed_id, digest)


def recording_statement(connector: Connector, event: MeetingEvent) -> dict[str, Any]:
    """A recording link as its own statement: the meeting's host `shared` the meeting, with
    the link as the recording extension. Stored statements are immutable, and the link
    usually comes minutes after the end (Zoom's cloud recording), when the `attended`
    statements already exist; one statement per meeting occurrence (not per participant)
    keeps a 500-person class at one, and a query by the meeting activity finds it."""
    meeting = connector.activity_for(event.meeting_id)
    context = _context(connector, event, event.recording_url)
    context.pop("instructor", None)
    statement = {
        "id": statement_id(connector, event.instance, "", "recording|" + event.recording_url),
        "actor": meeting_agent(connector, event),
        "verb": {"id": SHARED, "display": {"en-US": "shared"}},
        "object": _activity(meeting, event.topic),
        "context": context,
    }
    when = event.at or event.end or event.start
    if when is not None:
        statement["timestamp"] = _stamp(when)
    return statement
