"""Reconciliation (pure): a provider's attendance report against what the webhooks stored.

Webhooks get lost (a `left` Zoom never sent, a delivery refused while the LRS was down) and
carry less than the report (a guest's email, which Zoom's webhooks leave empty). The report
is the provider's record of who was present when, so each of its stays is looked for among
the stored moves, within `TOLERANCE` (the two are taken from the same clock, but a report may
round to the second or minute). What is missing becomes a new event, of the same kinds the
webhooks produce:

- a stay whose join or leave no stored move matches → `joined` / `left` at the report's time
  (a missed `left` closes an interval that was open until the meeting's end);
- a guest stored under a provider id whom the report names by email → `identified`, after
  which attendance counts the guest under the email;
- a meeting whose end never arrived → `ended` at the report's end.

Only additions: nothing the webhooks stored is removed, so running it twice adds nothing the
second time (the first run's events are now stored and match).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from connectors.model import EventKind, MeetingEvent, Participant
from connectors.providers.reports import AttendanceReport, ReportRecord

TOLERANCE = timedelta(seconds=60)
TYPE = "reconcile"


@dataclass(slots=True)
class Plan:
    events: list[MeetingEvent] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Stored:
    """The stored evidence of one meeting occurrence, by participant key."""

    people: dict[str, Participant] = field(default_factory=dict)
    times: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    renamed: dict[str, Participant] = field(default_factory=dict)
    ended: bool = False

    @classmethod
    def of(cls, events: Sequence[MeetingEvent]) -> _Stored:
        stored = cls()
        for event in events:
            if event.kind == "ended":
                stored.ended = True
            elif event.kind == "identified" and event.participant is not None:
                stored.renamed[event.former_key] = event.participant
            elif event.kind in ("joined", "left") and event.participant and event.at:
                stored.people.setdefault(event.participant.key, event.participant)
                stored.add(event.participant.key, event.kind, event.at)
        return stored

    def add(self, key: str, kind: str, at: datetime) -> None:
        self.times.setdefault((key, kind), []).append(at)

    def near(self, key: str, kind: str, at: datetime, tolerance: timedelta) -> bool:
        return any(abs(seen - at) <= tolerance for seen in self.times.get((key, kind), ()))


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def match(record: ReportRecord, stored: _Stored, taken: set[str]) -> str | None:
    """The stored participant a report row is: by email (directly or through an earlier
    identification), else by a provider id, else by display name among guests (Zoom's past
    meeting report gives a guest no id its webhooks carried)."""
    email = record.participant.email
    candidates = [key for key in stored.people if key not in taken]
    if email:
        if f"mbox:{email}" in candidates:
            return f"mbox:{email}"
        for former, person in stored.renamed.items():
            if person.email == email and former in candidates:
                return former
    by_id = [key for key in candidates if stored.people[key].account in record.ids]
    if by_id:
        return by_id[0]
    name = record.participant.name
    guests = [k for k in candidates if not stored.people[k].email and stored.people[k].name]
    named = [k for k in guests if stored.people[k].name == name]
    return named[0] if name and len(named) == 1 else None


def plan(
    report: AttendanceReport,
    events: Sequence[MeetingEvent],
    meeting: MeetingEvent,
    tolerance: timedelta = TOLERANCE,
) -> Plan:
    """The events that bring the stored ones in line with the report, and what each changes.
    `meeting` carries the occurrence's fields (ids, topic, host, schedule) for new events."""
    stored = _Stored.of(events)
    result = Plan()
    taken: set[str] = set()
    base = replace(meeting, type=TYPE, participant=None, at=None, revision="", former_key="")
    for record in report.records:
        key = match(record, stored, taken)
        if key is not None:
            taken.add(key)
            _identify(record, key, stored, base, result)
        person = stored.people[key] if key is not None else record.participant
        _stays(record, person, stored, base, tolerance, result)
    bounds = report.bounds()
    if not stored.ended and bounds is not None:
        start, end = bounds
        ended = replace(base, kind="ended", at=end, start=meeting.start or start, end=end)
        result.events.append(ended)
        result.changes.append({"change": "ended", "at": _stamp(end)})
    return result


def _identify(
    record: ReportRecord, key: str, stored: _Stored, base: MeetingEvent, result: Plan
) -> None:
    person, email = stored.people[key], record.participant.email
    if person.email or not email or key in stored.renamed:
        return
    named = Participant(
        key=f"mbox:{email}",
        name=person.name or record.participant.name,
        email=email,
        account=person.account,
    )
    result.events.append(replace(base, kind="identified", participant=named, former_key=key))
    result.changes.append({"change": "email", "participant": key, "email": email})


def _stays(
    record: ReportRecord,
    person: Participant,
    stored: _Stored,
    base: MeetingEvent,
    tolerance: timedelta,
    result: Plan,
) -> None:
    for join, leave in record.intervals:
        moves: tuple[tuple[EventKind, datetime], ...] = (("joined", join), ("left", leave))
        for kind, at in moves:
            if stored.near(person.key, kind, at, tolerance):
                continue
            stored.add(person.key, kind, at)
            result.events.append(replace(base, kind=kind, at=at, participant=person))
            result.changes.append({"change": kind, "participant": person.key, "at": _stamp(at)})
