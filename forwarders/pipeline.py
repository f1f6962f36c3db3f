"""From a matched statement to a deliverable payload: resolve the person, apply the
employment policy, render the template, and decide the event's state.

For `marketplace` and `crm` forwarders an event is deliverable only once its actor resolves
to exactly one person:

    resolved, active (or policy send) -> pending, `payload` rendered by the forwarder's template
    resolved, terminated, policy drop -> dropped (reason)
    resolved, template cannot render  -> dead ("required field missing: <source> -> <target>")
    not resolved (none or several)   -> unmatched (reason, `learner_keys` for re-drive)

Generic forwarders send the generic payload, stored the same way. The payload is rendered
once, when the event becomes deliverable, and sent as stored: retries and replays carry the
same body.

Re-drive: an identity import that creates or updates people resolves again every unmatched
event holding one of their keys (the statement is re-read from the statement source).
`enqueue` also resolves each unmatched event it has just stored once more, from the
statement in hand: an import committed between its resolution and its insert would
otherwise never see it.

Replay renders, here too, an event that never had a payload; the worker only sends stored
payloads.

Revocation (a voided statement): a marketplace/CRM event that was deliverable (it has a
payload) gets a `learning.revoked` event (`revocation_payload`); one still unmatched is
dropped instead, since nothing was ever sent for it. Generic forwarders revoke every event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forwarders.claim import Claim
from forwarders.events import REVOKED, Event, as_mapping, generic_payload, revoked_event
from forwarders.identity.store import IdentityStore, Resolution
from forwarders.mapping.template import (
    KINDS_WITH_TEMPLATES,
    MissingRequiredField,
    RenderError,
    render_payload,
)
from forwarders.queue import Disposition, JobStore, Original
from forwarders.rules import Forwarder
from forwarders.source import FixedVocabulary, StatementSource, VocabularySource

log = logging.getLogger("forwarders.pipeline")

REDRIVE_PAGE = 200
VOIDED_UNMATCHED = "the statement was voided before its person was known"
STATEMENT_GONE = "the statement was voided (or is no longer stored)"


@dataclass(frozen=True, slots=True)
class Match:
    """A statement a forwarder matched, and the event it makes."""

    forwarder: Forwarder
    statement: Mapping[str, Any]
    event: Event


@dataclass(slots=True)
class RedriveReport:
    resolved: int = 0
    """Unmatched events that became pending (or dropped or dead: no longer waiting)."""
    still_unmatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"resolved": self.resolved, "still_unmatched": self.still_unmatched}


def generic(event: Event) -> Disposition:
    """The disposition of an event sent as the generic payload (generic forwarders, test
    events, revocations for them)."""
    return Disposition(event, "pending", generic_payload(event))


def decide(candidate: Match, resolution: Resolution | None) -> Disposition:
    """The state of one event (pure). `resolution` is None for a generic forwarder."""
    forwarder, event = candidate.forwarder, candidate.event
    template = forwarder.mapping_template()
    if template is None:
        return generic(event)
    if resolution is None or resolution.person is None:
        reason = resolution.reason if resolution is not None else "no identity resolution"
        keys = resolution.keys if resolution is not None else ()
        return Disposition(event, "unmatched", reason=reason, learner_keys=keys)
    person = resolution.person
    who = person.employee_id
    if person.terminated and forwarder.terminated == "drop":
        reason = f"employee {who} is terminated (forwarder policy: drop)"
        return Disposition(event, "dropped", reason=reason, employee_id=who)
    try:
        payload = render_payload(template, event, candidate.statement, person)
    except MissingRequiredField as error:
        reason = f"required field missing: {error.source_field} -> {error.target_field}"
        return Disposition(event, "dead", reason=reason, employee_id=who)
    except RenderError as error:
        return Disposition(event, "dead", reason=f"mapping failed: {error}", employee_id=who)
    return Disposition(event, "pending", payload, employee_id=who)


def revocation_payload(event: Event, original: Original) -> dict[str, Any]:
    """The body of a marketplace/CRM `learning.revoked`: the same envelope as a rendered
    payload, naming the revoked event and carrying its mapped data, so a receiver can find
    and retract the record it made from it."""
    revoked = original.payload or {}
    return {
        "type": event.type,
        "id": event.id,
        "timestamp": event.timestamp,
        "template": revoked.get("template"),
        "data": {
            "revokes_event_id": event.revokes,
            "voiding_statement_id": event.voiding_statement_id,
            "statement_id": event.statement_id,
            "employee_id": original.employee_id,
            "revoked": revoked.get("data"),
        },
    }


def revocation(
    forwarder: Forwarder, original: Original, voiding: Mapping[str, Any]
) -> Disposition | None:
    """The revocation of `original`, or None when nothing was ever deliverable for it."""
    event = revoked_event(original.event, voiding)
    if forwarder.kind not in KINDS_WITH_TEMPLATES:
        return generic(event)
    if original.payload is None:
        return None
    payload = revocation_payload(event, original)
    return Disposition(event, "pending", payload, employee_id=original.employee_id)


class Pipeline:
    def __init__(
        self,
        statements: StatementSource,
        identities: IdentityStore,
        jobs: JobStore,
        vocabulary: VocabularySource | None = None,
    ) -> None:
        self.statements = statements
        self.vocabulary: VocabularySource = vocabulary or FixedVocabulary()
        """The vocabulary in force: which verbs a forwarder's rule stands for."""
        self.identities = identities
        self.jobs = jobs

    async def prepare(self, candidates: Sequence[Match]) -> list[Disposition]:
        """The disposition of each candidate; actors are resolved in one query."""
        mapped = [c for c in candidates if c.forwarder.kind in KINDS_WITH_TEMPLATES]
        actors = {c.event.statement_id: c.statement.get("actor") for c in mapped}
        ids = list(actors)
        found = await self.identities.resolve_many([as_mapping(actors[i]) for i in ids])
        resolutions = dict(zip(ids, found, strict=True))
        return [decide(c, resolutions.get(c.event.statement_id)) for c in candidates]

    async def enqueue(
        self, candidates: Sequence[Match], now: datetime, claim: Claim | None = None
    ) -> tuple[list[Disposition], set[str]]:
        """Resolve, decide and store the events of these candidates (discovery and
        reconciliation both enqueue here); returns the dispositions and the ids that were
        new. With `claim`, deliverable events are stored leased to its worker. A new
        unmatched event is resolved once more, from the statement in hand: an identity
        import committed between the resolution and the insert would otherwise never see
        it."""
        dispositions = await self.prepare(candidates)
        new = await self.jobs.enqueue_dispositions(dispositions, now, claim)
        waiting = [
            c
            for c, d in zip(candidates, dispositions, strict=True)
            if d.state == "unmatched" and d.event.id in new
        ]
        for disposition in await self.prepare(waiting):
            await self.jobs.settle_unmatched(disposition, now)
        return dispositions, new

    async def revocations(
        self,
        forwarders: Mapping[str, Forwarder],
        voiding: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> list[Disposition]:
        """`voiding` maps each voided statement id to its voiding statement."""
        found: list[Disposition] = []
        for original in await self.jobs.originals(list(voiding)):
            forwarder = forwarders.get(original.event.forwarder_id)
            if forwarder is None:
                continue
            made = revocation(forwarder, original, voiding[original.event.statement_id])
            if made is not None:
                found.append(made)
        await self.jobs.drop_unmatched(list(voiding), VOIDED_UNMATCHED, now)
        return found

    # -- re-drive ---------------------------------------------------------------------------

    async def redrive(
        self,
        forwarders: Sequence[Forwarder],
        now: datetime,
        *,
        keys: Iterable[str],
    ) -> RedriveReport:
        """Resolve again the unmatched events holding one of `keys`."""
        by_id = {f.id: f for f in forwarders}
        report, wanted = RedriveReport(), frozenset(k for k in keys if isinstance(k, str))
        for forwarder in forwarders:
            ids = await self.jobs.unmatched(forwarder.id, wanted)
            for start in range(0, len(ids), REDRIVE_PAGE):
                events = await self.jobs.events_of(ids[start : start + REDRIVE_PAGE])
                await self._redrive_events(by_id, events, now, report)
        return report

    async def _redrive_events(
        self,
        forwarders: Mapping[str, Forwarder],
        events: Sequence[Event],
        now: datetime,
        report: RedriveReport,
    ) -> None:
        statements = await self._statements([e.statement_id for e in events])
        candidates, gone = [], []
        for event in events:
            forwarder, statement = (
                forwarders.get(event.forwarder_id),
                statements.get(event.statement_id),
            )
            if forwarder is None:
                continue  # deleted: its events go with it
            if statement is None:
                gone.append(Disposition(event, "dropped", reason=STATEMENT_GONE))
            else:
                candidates.append(Match(forwarder, statement, event))
        for disposition in [*gone, *await self.prepare(candidates)]:
            if not await self.jobs.settle_unmatched(disposition, now):
                continue
            if disposition.state == "unmatched":
                report.still_unmatched += 1
            else:
                report.resolved += 1

    async def _statements(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The statements (not voided) with these ids, parsed."""
        found = await self.statements.get(ids)
        return {statement_id: stored.statement for statement_id, stored in found.items()}

    # -- replay ------------------------------------------------------------------------------

    async def replay(
        self, match: Mapping[str, Any], forwarders: Sequence[Forwarder], now: datetime
    ) -> int:
        """Put the matching events (not in flight) back in the queue; returns how many. One
        with a payload is sent again as stored. One without (never rendered: unmatched,
        dropped, or dead because its template could not render; or its payload erased) is
        resolved and rendered now, with today's people and template, and takes the state
        that decides: the worker only ever sends stored payloads."""
        replayed = await self.jobs.replay({**match, "payload": {"$ne": None}}, now)
        return replayed + await self.render_unrendered(match, forwarders, now, fresh=True)

    async def render_unrendered(
        self,
        match: Mapping[str, Any],
        forwarders: Sequence[Forwarder],
        now: datetime,
        *,
        fresh: bool,
    ) -> int:
        """Render the matching events that have no payload (not in flight); `fresh` starts
        their attempts over (a replay). Returns how many were settled."""
        by_id = {f.id: f for f in forwarders}
        settled, after = 0, None
        while True:
            events = await self.jobs.unrendered(match, REDRIVE_PAGE, after)
            for disposition in await self._render(by_id, events):
                settled += await self.jobs.settle_rendered(disposition, now, fresh=fresh)
            if len(events) < REDRIVE_PAGE:
                return settled
            after = events[-1].id

    async def _render(
        self, forwarders: Mapping[str, Forwarder], events: Sequence[Event]
    ) -> list[Disposition]:
        statements = await self._statements([e.statement_id for e in events])
        made, candidates = [], []
        for event in events:
            forwarder, statement = (
                forwarders.get(event.forwarder_id),
                statements.get(event.statement_id),
            )
            if forwarder is None:
                continue  # deleted: its events go with it
            if forwarder.kind not in KINDS_WITH_TEMPLATES or event.type == REVOKED:
                made.append(generic(event))
            elif statement is None:
                made.append(Disposition(event, "dropped", reason=STATEMENT_GONE))
            else:
                candidates.append(Match(forwarder, statement, event))
        return [*made, *await self.prepare(candidates)]
