"""Zoom webhook events → MeetingEvent (developers.zoom.us, "Meetings" and "Webinars" events).

Every event is `{"event": NAME, "event_ts": ms, "payload": {"account_id", "object": {...}}}`.
The meeting object carries `id` (the meeting number), `uuid` (this occurrence), `host_id`,
`topic`, `duration` (scheduled minutes) and, for participant events, `participant` with
`user_name`, `email` (empty for guests), `id` / `participant_uuid` / `user_id` and
`join_time` or `leave_time`. Webinar events have the same shape under `webinar.*`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from connectors.model import EventKind, MeetingEvent, Participant
from connectors.providers.shape import ShapeError, minutes, moment, obj, text
from forwarders.identity.person import normalise_email

HOME_PAGE = "https://zoom.us"
URL_VALIDATION = "endpoint.url_validation"
KINDS: dict[str, EventKind] = {
    "meeting.participant_joined": "joined",
    "meeting.participant_left": "left",
    "meeting.ended": "ended",
    "webinar.participant_joined": "joined",
    "webinar.participant_left": "left",
    "webinar.ended": "ended",
    "recording.completed": "recording",
}


@dataclass(frozen=True, slots=True)
class UrlValidation:
    """Zoom's challenge when the endpoint is saved: answer with the token, signed."""

    plain_token: str


def parse(body: Any) -> MeetingEvent | UrlValidation:
    root = obj(body, "body")
    name = text(root, "event", "body")
    payload = obj(root.get("payload"), "payload")
    if name == URL_VALIDATION:
        return UrlValidation(text(payload, "plainToken", "payload"))
    kind = KINDS.get(name)
    if kind is None:
        return MeetingEvent(kind="ignored", type=name)
    meeting = obj(payload.get("object"), "payload.object")
    event = _meeting(meeting, kind, name)
    if kind in ("joined", "left"):
        return _with_participant(event, meeting)
    if kind == "ended":
        end = moment(meeting, "end_time", "payload.object")
        return replace(event, at=end, end=end)
    return replace(event, recording_url=_recording_url(meeting))


def _meeting(meeting: dict[str, Any], kind: EventKind, name: str) -> MeetingEvent:
    path = "payload.object"
    return MeetingEvent(
        kind=kind,
        type=name,
        meeting_id=text(meeting, "id", path),
        instance=text(meeting, "uuid", path),
        topic=text(meeting, "topic", path, required=False),
        host=text(meeting, "host_id", path, required=False),
        start=moment(meeting, "start_time", path, required=False),
        scheduled_minutes=minutes(meeting, "duration", path),
    )


def _with_participant(event: MeetingEvent, meeting: dict[str, Any]) -> MeetingEvent:
    path = "payload.object.participant"
    person = obj(meeting.get("participant"), path)
    field = "join_time" if event.kind == "joined" else "leave_time"
    at = moment(person, field, path)
    account = next(
        (
            text(person, name, path, required=False)
            for name in ("participant_user_id", "id", "participant_uuid", "user_id")
            if text(person, name, path, required=False)
        ),
        "",
    )
    email = _email(text(person, "email", path, required=False))
    if not email and not account:
        raise ShapeError(f"{path} needs an email or an id (id, participant_uuid or user_id)")
    participant = Participant(
        key=f"mbox:{email}" if email else f"account:{account}",
        name=text(person, "user_name", path, required=False),
        email=email,
        account=account,
    )
    return replace(event, at=at, participant=participant)


def _email(raw: str) -> str:
    """Normalised as identity resolution does; a malformed one counts as none (a guest)."""
    try:
        return normalise_email(raw) if raw.strip() else ""
    except ValueError:
        return ""


def _recording_url(meeting: dict[str, Any]) -> str:
    url = text(meeting, "share_url", "payload.object", required=False)
    if not url.startswith("https://"):
        raise ShapeError("payload.object.share_url must be an https URL")
    return url
