"""The domain types every connector module shares: connectors, participants, meeting events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["zoom", "webex", "teams"]
KINDS: tuple[Kind, ...] = ("zoom", "webex", "teams")
EventKind = Literal["joined", "left", "ended", "recording", "identified", "ignored"]
"""`identified`: a reconciliation learned who a participant is (a guest's email from the
provider's report); attendance merges the participant's earlier key into the new one."""


@dataclass(frozen=True, slots=True)
class Connector:
    """A configured source: where its meetings map and when attendance counts as completion."""

    id: str
    name: str
    kind: Kind
    activity_template: str
    completion_threshold: float
    mapping: dict[str, str] = field(default_factory=dict)
    """Meeting id or topic → an existing course activity IRI that receives the `completed`."""

    def activity_for(self, meeting_id: str) -> str:
        return self.activity_template.replace("{meeting_id}", meeting_id)

    def completion_activity(self, meeting_id: str, topic: str) -> str:
        return (
            self.mapping.get(meeting_id) or self.mapping.get(topic) or self.activity_for(meeting_id)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "activity_template": self.activity_template,
            "completion_threshold": self.completion_threshold,
            "mapping": self.mapping,
        }


@dataclass(frozen=True, slots=True)
class Participant:
    """Who attended: `key` is stable across rejoins (the email when known, else an id)."""

    key: str
    name: str = ""
    email: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class MeetingEvent:
    """One provider event reduced to what attendance needs (times are UTC)."""

    kind: EventKind
    type: str
    """The provider's own event name (`meeting.participant_joined`, ...)."""
    meeting_id: str = ""
    instance: str = ""
    """The occurrence of a meeting (Zoom's `uuid`): a recurring meeting has many."""
    topic: str = ""
    host: str = ""
    at: datetime | None = None
    participant: Participant | None = None
    start: datetime | None = None
    end: datetime | None = None
    scheduled_minutes: int | None = None
    recording_url: str = ""
    former_key: str = ""
    """For `identified`: the key the participant had before (an account of the provider)."""
    revision: str = ""
    """For an `ended` that a reconciliation re-issues: the digest of the moves it covers."""

    def identity(self) -> str:
        """What makes two deliveries the same event: retries and repeats collapse on it."""
        who = self.participant.key if self.participant else ""
        at = self.at.isoformat() if self.at and self.kind in ("joined", "left") else ""
        parts = (self.kind, self.instance, who, at)
        extra = tuple(value for value in (self.former_key, self.revision) if value)
        return "|".join(parts + extra)
