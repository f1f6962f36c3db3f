"""The lease discovery inserts deliverable events under: the discovering worker's, so a
new event is delivered by the worker that found it, without a claim (`queue` stores
what it decides)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forwarders.erasure_marks import Marks
from forwarders.queue import Disposition, Fresh, Job


@dataclass(slots=True)
class Claim:
    """A lease put on events as they are inserted (the discovering worker's), so that a
    fresh event is delivered straight away instead of being written, then re-read and
    re-written by a claim: on the embedded database each written document costs the same
    whatever it changes, and a claim was a third of what an event cost it.

    The events of `fresh` statements (stored after this discovery began: no document can
    name them yet) are not written at all (`keep`): delivered first, each is written once,
    with its result (`Fresh`). A written event cost the embedded database an insert and then
    an update, the update the larger share; now it costs one insert. The saved discovery
    cursor stays below every event kept unwritten, so a crash before the write re-discovers
    and re-sends it (at least once, as a crash between a delivery and its update always did).

    `room` bounds how many events of each forwarder it takes (the worker's free lanes and a
    little more: a held job waits in memory, its lease running); the rest are inserted due,
    as without a claim. What it took is in `taken`, for the jobs (`jobs`)."""

    owner: str
    until: datetime
    room: dict[str, int]
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    taken: set[str] = field(default_factory=set)
    fresh: Mapping[str, int] = field(default_factory=dict)
    """The statements whose events may be kept unwritten, with their positions."""
    kept: dict[str, Fresh] = field(default_factory=dict)
    before: Marks | None = None
    """The erasures as read before the statements of these events were: what spares their
    writes the read-back (`forwarders.erasure_marks`)."""

    def keep(self, disposition: Disposition, now: datetime) -> bool:
        """Whether this event is taken unwritten (deliverable, of a fresh statement, and
        room left for its forwarder)."""
        position = self.fresh.get(disposition.event.statement_id)
        if position is None or not self._room_for(disposition):
            return False
        self.kept[disposition.event.id] = Fresh(disposition, now, position, self.before)
        return True

    def _room_for(self, disposition: Disposition) -> bool:
        forwarder = disposition.event.forwarder_id
        if disposition.state != "pending" or self.room.get(forwarder, 0) <= 0:
            return False
        self.room[forwarder] -= 1
        self.taken.add(disposition.event.id)
        return True

    def take(self, disposition: Disposition) -> dict[str, Any] | None:
        """The lease fields for this event, or None when it is not taken (not deliverable,
        or no room left for its forwarder)."""
        if not self._room_for(disposition):
            return None
        lease = {"owner": self.owner, "token": self.token, "until": self.until}
        return {"lease": lease, "due": self.until, "attempts": 1}

    def jobs(self, dispositions: Sequence[Disposition], new: set[str]) -> list[Job]:
        """The jobs of the events taken here that were new (a known id keeps its own
        state and lease: it is not ours to deliver)."""
        return [
            Job(
                d.event.id,
                d.event.forwarder_id,
                d.event,
                1,
                self.token,
                d.payload,
                self.kept.get(d.event.id),
            )
            for d in dispositions
            if d.event.id in self.taken and d.event.id in new
        ]
