"""Webex webhook events → MeetingEvent (developer.webex.com, "Webhooks": resources
`meetingParticipants` with events `joined`/`left`, `meetings` with `ended`, `recordings` with
`created`).

Every delivery is the webhook envelope `{"id", "resource", "event", ..., "data": {...}}`.
A participant's `data` has `id`, `email`, `displayName`, `meetingId` (the occurrence,
`<series>_I_<n>`), `joinedTime` / `leftTime`; an ended meeting's `data` has `id` (the
occurrence), `meetingSeriesId`, `title`, `hostUserId`, `start` and `end`; a recording's has
`meetingId` and `playbackUrl`.
"""

from __future__ import annotations

from typing import Any

from connectors.model import EventKind, MeetingEvent, Participant
from connectors.providers.shape import ShapeError, moment, obj, text
from forwarders.identity.person import normalise_email

KINDS: dict[tuple[str, str], EventKind] = {
    ("meetingParticipants", "joined"): "joined",
    ("meetingParticipants", "left"): "left",
    ("meetings", "ended"): "ended",
    ("recordings", "created"): "recording",
}


def series_of(instance: str) -> str:
    """The meeting (series) an occurrence id belongs to: what the activity template names."""
    return instance.split("_I_", 1)[0]


def parse(body: Any) -> MeetingEvent:
    root = obj(body, "body")
    resource, name = text(root, "resource", "body"), text(root, "event", "body")
    kind = KINDS.get((resource, name))
    label = f"{resource}.{name}"
    if kind is None:
        return MeetingEvent(kind="ignored", type=label)
    data = obj(root.get("data"), "data")
    if kind in ("joined", "left"):
        return _participant(data, kind, label)
    if kind == "ended":
        instance = text(data, "id", "data")
        end = moment(data, "end", "data", required=False)
        return MeetingEvent(
            kind="ended",
            type=label,
            meeting_id=text(data, "meetingSeriesId", "data", required=False) or series_of(instance),
            instance=instance,
            topic=text(data, "title", "data", required=False),
            host=text(data, "hostUserId", "data", required=False),
            at=end,
            start=moment(data, "start", "data", required=False),
            end=end,
        )
    instance = text(data, "meetingId", "data")
    url = text(data, "playbackUrl", "data", required=False)
    if not url.startswith("https://"):
        raise ShapeError("data.playbackUrl must be an https URL")
    return MeetingEvent(
        kind="recording",
        type=label,
        meeting_id=series_of(instance),
        instance=instance,
        recording_url=url,
    )


def _participant(data: dict[str, Any], kind: EventKind, label: str) -> MeetingEvent:
    instance = text(data, "meetingId", "data")
    raw_email = text(data, "email", "data", required=False)
    try:
        email = normalise_email(raw_email) if raw_email else ""
    except ValueError:
        email = ""
    account = text(data, "id", "data")
    person = Participant(
        key=f"mbox:{email}" if email else f"account:{account}",
        name=text(data, "displayName", "data", required=False),
        email=email,
        account=account,
    )
    field = "joinedTime" if kind == "joined" else "leftTime"
    return MeetingEvent(
        kind=kind,
        type=label,
        meeting_id=series_of(instance),
        instance=instance,
        at=moment(data, field, "data"),
        participant=person,
    )
