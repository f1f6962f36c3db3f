"""Microsoft Teams through Microsoft Graph (learn.microsoft.com, "Change notifications" and
"meetingAttendanceReport").

Graph validates a subscription's endpoint by POSTing with `?validationToken=...`, to be echoed
as text/plain within 10 seconds. Notifications carry `{"value": [{"clientState", ...}]}`: the
`clientState` set on the subscription (the connector's secret) is the only proof of origin,
so every notification in the batch must carry it.

Attendance comes from a meeting's attendance report, imported (admin API or CLI) because
pulling Graph needs the customer's tenant: `attendanceRecords[]` with `emailAddress`,
`identity {id, displayName}`, `role` and `attendanceIntervals[] {joinDateTime,
leaveDateTime, durationInSeconds}`, plus the report's `id`, `meetingStartDateTime` and
`meetingEndDateTime`. A report becomes the same MeetingEvents as webhooks would.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Any

from connectors.model import MeetingEvent, Participant
from connectors.providers.shape import ShapeError, minutes, moment, obj, text
from connectors.providers.signing import SignatureError
from forwarders.identity.person import normalise_email

MAX_RECORDS = 5_000
MAX_INTERVALS = 200


def check_client_state(secret: str, body: Any) -> int:
    """How many notifications the batch holds; SignatureError unless each carries the secret."""
    root = obj(body, "body")
    values = root.get("value")
    if not isinstance(values, list) or not values:
        raise ShapeError("body.value must be a non-empty array of notifications")
    for i, item in enumerate(values):
        state = obj(item, f"value[{i}]").get("clientState")
        if not isinstance(state, str) or not hmac.compare_digest(state, secret):
            raise SignatureError(f"value[{i}].clientState does not match the connector's secret")
    return len(values)


def report_events(body: Any) -> list[MeetingEvent]:
    """`{"meeting_id", "topic"?, "scheduled_minutes"?, "report": meetingAttendanceReport}`."""
    root = obj(body, "body")
    meeting_id = text(root, "meeting_id", "body")
    report = obj(root.get("report"), "report")
    base = MeetingEvent(
        kind="ended",
        type="attendanceReport",
        meeting_id=meeting_id,
        instance=text(report, "id", "report"),
        topic=text(root, "topic", "body", required=False),
        start=moment(report, "meetingStartDateTime", "report"),
        end=moment(report, "meetingEndDateTime", "report"),
        scheduled_minutes=minutes(root, "scheduled_minutes", "body"),
    )
    records = report.get("attendanceRecords")
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise ShapeError(f"report.attendanceRecords must be an array of at most {MAX_RECORDS}")
    moves = [
        move
        for i, record in enumerate(records)
        for move in _moves(base, obj(record, f"report.attendanceRecords[{i}]"), i)
    ]
    return [*moves, _ended(base)]


def _ended(base: MeetingEvent) -> MeetingEvent:
    return replace(base, at=base.end)


def _moves(base: MeetingEvent, record: dict[str, Any], i: int) -> list[MeetingEvent]:
    path = f"report.attendanceRecords[{i}]"
    person = _participant(record, path)
    intervals = record.get("attendanceIntervals")
    if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
        raise ShapeError(f"{path}.attendanceIntervals must be an array of at most {MAX_INTERVALS}")
    moves = []
    for j, interval in enumerate(intervals):
        where = f"{path}.attendanceIntervals[{j}]"
        span = obj(interval, where)
        move = replace(base, type="attendanceRecord", participant=person)
        moves.append(replace(move, kind="joined", at=moment(span, "joinDateTime", where)))
        moves.append(replace(move, kind="left", at=moment(span, "leaveDateTime", where)))
    return moves


def _participant(record: dict[str, Any], path: str) -> Participant:
    found = record.get("identity")
    identity: dict[str, Any] = found if isinstance(found, dict) else {}
    raw = text(record, "emailAddress", path, required=False)
    try:
        email = normalise_email(raw) if raw else ""
    except ValueError:
        email = ""
    account = text(identity, "id", f"{path}.identity", required=False)
    if not email and not account:
        raise ShapeError(f"{path} needs an emailAddress or identity.id")
    return Participant(
        key=f"mbox:{email}" if email else f"account:{account}",
        name=text(identity, "displayName", f"{path}.identity", required=False),
        email=email,
        account=account,
    )
