"""Providers' attendance reports → who was present, and when (what reconciliation compares
with the webhooks).

- Zoom (developers.zoom.us, "Get past meeting participants",
  `GET /past_meetings/{meetingUUID}/participants`, and the report API's
  `GET /report/meetings/{meetingId}/participants`): `{"participants": [{"id", "user_id",
  "name", "user_email", "join_time", "leave_time", "duration", ...}], "next_page_token"}`,
  one row per stay, so a rejoin is a second row.
- Microsoft Teams (learn.microsoft.com, Graph `meetingAttendanceReport` with
  `$expand=attendanceRecords`): `attendanceRecords[]` with `emailAddress`, `identity {id,
  displayName}` and `attendanceIntervals[] {joinDateTime, leaveDateTime}`.
- Webex (developer.webex.com, "List Meeting Participants", `GET /meetingParticipants`):
  `{"items": [{"id", "email", "displayName", "joinedTime", "leftTime", "devices":
  [{"joinedTime", "leftTime"}]}]}`; each device is a stay when devices are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.model import Kind, Participant
from connectors.providers.shape import ShapeError, moment, obj, text
from forwarders.identity.person import normalise_email

MAX_ROWS = 10_000
MAX_INTERVALS = 200

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One person in a report: `ids` are every provider id the row names (for matching a
    guest whose webhook events carried one of them)."""

    participant: Participant
    ids: frozenset[str]
    intervals: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class AttendanceReport:
    records: tuple[ReportRecord, ...]
    report_id: str = ""
    start: datetime | None = None
    end: datetime | None = None

    def bounds(self) -> tuple[datetime, datetime] | None:
        """The meeting's start and end: the report's own, else its first join and last leave."""
        spans = [span for record in self.records for span in record.intervals]
        start = self.start or min((s[0] for s in spans), default=None)
        end = self.end or max((s[1] for s in spans), default=None)
        return None if start is None or end is None else (start, max(start, end))


def parse(kind: Kind, body: Any) -> AttendanceReport:
    """The report of the connector's provider; ShapeError names the first wrong field."""
    if kind == "zoom":
        return _zoom(obj(body, "report"))
    if kind == "webex":
        return _webex(obj(body, "report"))
    return teams(obj(body, "report"))


def _email(raw: str) -> str:
    try:
        return normalise_email(raw) if raw.strip() else ""
    except ValueError:
        return ""


def _person(email: str, ids: list[str], name: str, path: str) -> tuple[Participant, frozenset[str]]:
    found = [i for i in ids if i]
    if not email and not found:
        raise ShapeError(f"{path} needs an email or an id")
    account = found[0] if found else ""
    key = f"mbox:{email}" if email else f"account:{account}"
    return Participant(key=key, name=name, email=email, account=account), frozenset(found)


def _rows(container: dict[str, Any], name: str) -> list[Any]:
    rows = container.get(name)
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise ShapeError(f"report.{name} must be an array of at most {MAX_ROWS}")
    return rows


def _span(container: dict[str, Any], join: str, leave: str, path: str) -> Interval:
    begin, finish = moment(container, join, path), moment(container, leave, path)
    assert begin is not None and finish is not None  # noqa: S101 - required=True
    if finish < begin:
        raise ShapeError(f"{path}.{leave} is before {join}")
    return begin, finish


def _merge_rows(rows: list[ReportRecord]) -> tuple[ReportRecord, ...]:
    """One record per person: Zoom lists each stay as its own row."""
    merged: dict[str, ReportRecord] = {}
    for row in rows:
        key = row.participant.key
        if key in merged:
            before = merged[key]
            row = ReportRecord(
                before.participant, before.ids | row.ids, before.intervals + row.intervals
            )
        merged[key] = row
    return tuple(merged.values())


def _zoom(report: dict[str, Any]) -> AttendanceReport:
    rows = []
    for i, raw in enumerate(_rows(report, "participants")):
        path = f"report.participants[{i}]"
        row = obj(raw, path)
        ids = [
            text(row, name, path, required=False)
            for name in ("participant_user_id", "id", "participant_uuid", "user_id")
        ]
        email = _email(text(row, "user_email", path, required=False))
        person, found = _person(email, ids, text(row, "name", path, required=False), path)
        span = _span(row, "join_time", "leave_time", path)
        rows.append(ReportRecord(person, found, (span,)))
    return AttendanceReport(_merge_rows(rows))


def teams(report: dict[str, Any]) -> AttendanceReport:
    records = []
    for i, raw in enumerate(_rows(report, "attendanceRecords")):
        path = f"report.attendanceRecords[{i}]"
        record = obj(raw, path)
        found = record.get("identity")
        identity: dict[str, Any] = found if isinstance(found, dict) else {}
        email = _email(text(record, "emailAddress", path, required=False))
        name = text(identity, "displayName", f"{path}.identity", required=False)
        ids = [text(identity, "id", f"{path}.identity", required=False)]
        person, known = _person(email, ids, name, path)
        spans = _intervals(record, "attendanceIntervals", "joinDateTime", "leaveDateTime", path)
        records.append(ReportRecord(person, known, spans))
    return AttendanceReport(
        tuple(records),
        report_id=text(report, "id", "report"),
        start=moment(report, "meetingStartDateTime", "report"),
        end=moment(report, "meetingEndDateTime", "report"),
    )


def _intervals(
    record: dict[str, Any], name: str, join: str, leave: str, path: str
) -> tuple[Interval, ...]:
    spans = record.get(name)
    if not isinstance(spans, list) or len(spans) > MAX_INTERVALS:
        raise ShapeError(f"{path}.{name} must be an array of at most {MAX_INTERVALS}")
    return tuple(
        _span(obj(span, f"{path}.{name}[{j}]"), join, leave, f"{path}.{name}[{j}]")
        for j, span in enumerate(spans)
    )


def _webex(report: dict[str, Any]) -> AttendanceReport:
    rows = []
    for i, raw in enumerate(_rows(report, "items")):
        path = f"report.items[{i}]"
        item = obj(raw, path)
        email = _email(text(item, "email", path, required=False))
        ids = [text(item, "id", path)]
        person, found = _person(email, ids, text(item, "displayName", path, required=False), path)
        if item.get("devices"):
            spans = _intervals(item, "devices", "joinedTime", "leftTime", path)
        else:
            spans = (_span(item, "joinedTime", "leftTime", path),)
        rows.append(ReportRecord(person, found, spans))
    return AttendanceReport(_merge_rows(rows))
