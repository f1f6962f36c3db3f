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
from datetime import datetime
from typing import Any

from connectors.model import EventKind, MeetingEvent
from connectors.providers import reports
from connectors.providers.shape import ShapeError, minutes, obj, text
from connectors.providers.signing import SignatureError


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
    report = reports.teams(obj(root.get("report"), "report"))
    base = MeetingEvent(
        kind="ended",
        type="attendanceReport",
        meeting_id=meeting_id,
        instance=report.report_id,
        topic=text(root, "topic", "body", required=False),
        start=report.start,
        end=report.end,
        scheduled_minutes=minutes(root, "scheduled_minutes", "body"),
    )
    moves = [
        replace(base, type="attendanceRecord", participant=record.participant, kind=kind, at=at)
        for record in report.records
        for join, leave in record.intervals
        for kind, at in _moves(join, leave)
    ]
    return [*moves, replace(base, at=base.end)]


def _moves(join: datetime, leave: datetime) -> tuple[tuple[EventKind, datetime], ...]:
    return (("joined", join), ("left", leave))
