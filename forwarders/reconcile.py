"""Reconciliation: does every statement a forwarder should have sent have its event, and
where is each event now? (`lrs forwarders reconcile`, `/admin/forwarders/{id}/reconcile`).

The qualifying statements are found the way discovery finds them, never by a collection
scan: for each verb IRI the forwarder's canonical verbs stand for (every alias), the
statement source's scan of the statements filed under it and stored in [since, until), a
bounded slice at a time; then the same pure decision
as discovery (`statement_matches`: not voided, stored after the forwarder was created,
`rules.matches`). Each one's event id is deterministic
(uuid5 of forwarder and statement), so its event is a point read by `_id`.

Report: counts and (bounded) ids per outcome: `missing` (no event: statement ids),
`undelivered` (pending or failed), `dead`, `unmatched`, `dropped`, `delivered` (event ids).
Voided statements are counted apart (their events are revoked or dropped, not reconciled).

`requeue` enqueues the missing ones through the pipeline exactly as discovery does (identity
resolution, the employment policy, the template; a new unmatched event is re-driven once);
`replay_dead` puts the dead-lettered ones back in the queue. `until` defaults to a minute
ago: statements stored in the last moments may simply not be discovered yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from forwarders.discovery import statement_matches
from forwarders.pipeline import Match, Pipeline
from forwarders.rules import Forwarder, verb_iris, wanted_verbs
from forwarders.source import StoredStatement
from statements.errors import InvalidQuery
from statements.formats import parse_timestamp, utc_instant
from statements.vocabulary import Vocabulary

DEFAULT_GRACE = timedelta(minutes=1)
MAX_IDS = 100
OUTCOMES = ("missing", "undelivered", "dead", "unmatched", "dropped", "delivered")
BY_STATE = {
    "pending": "undelivered",
    "failed": "undelivered",
    "dead": "dead",
    "unmatched": "unmatched",
    "dropped": "dropped",
    "delivered": "delivered",
}
Clock = Callable[[], datetime]


def parse_moment(value: Any, name: str) -> datetime:
    """An ISO 8601 date-time, or a date (its midnight UTC): `--since 2025-03-01` works."""
    text = value.strip() if isinstance(value, str) else ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    moment = parse_timestamp(text) if text else None
    if moment is None:
        raise InvalidQuery(name, "must be an ISO 8601 date or date-time (2025-03-01T00:00:00Z)")
    return utc_instant(moment)


def _ms_of(moment: datetime) -> int:
    """The millisecond `moment` falls in."""
    return int(moment.timestamp() * 1000)


@dataclass
class Outcome:
    count: int = 0
    ids: list[str] = field(default_factory=list)

    def add(self, identifier: str) -> None:
        self.count += 1
        if len(self.ids) < MAX_IDS:
            self.ids.append(identifier)


@dataclass
class Report:
    forwarder: Forwarder
    since: datetime
    until: datetime
    qualifying: int = 0
    voided: int = 0
    outcomes: dict[str, Outcome] = field(
        default_factory=lambda: {name: Outcome() for name in OUTCOMES}
    )
    requeued: dict[str, int] | None = None
    replayed_dead: int | None = None

    @property
    def drift(self) -> bool:
        """Something did not reach, or may not reach, the receiver."""
        return any(self.outcomes[n].count for n in ("missing", "undelivered", "dead", "unmatched"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "forwarder": {"id": self.forwarder.id, "name": self.forwarder.name},
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "qualifying": self.qualifying,
            "voided": self.voided,
            "counts": {name: o.count for name, o in self.outcomes.items()},
            "ids": {name: o.ids for name, o in self.outcomes.items()},
            "ids_limit": MAX_IDS,
            "drift": self.drift,
            "requeued": self.requeued,
            "replayed_dead": self.replayed_dead,
        }


class Reconciler:
    def __init__(self, pipeline: Pipeline, *, clock: Clock) -> None:
        self.statements = pipeline.statements
        self.jobs = pipeline.jobs
        self.pipeline = pipeline
        self.clock = clock

    async def reconcile(
        self,
        forwarder: Forwarder,
        since: datetime,
        until: datetime | None = None,
        *,
        requeue: bool = False,
        replay_dead: bool = False,
        forwarders: Sequence[Forwarder] = (),
    ) -> Report:
        """`forwarders` (all of them) lets a replayed dead event that never had a payload be
        rendered."""
        until = until or self.clock() - DEFAULT_GRACE
        if since >= until:
            raise InvalidQuery("since", f"must be before until ({until.isoformat()})")
        report = Report(forwarder, since, until)
        if requeue:
            report.requeued = dict.fromkeys(("pending", "unmatched", "dropped", "dead"), 0)
        if replay_dead:
            report.replayed_dead = 0
        position_of = self.statements.position_of
        low = position_of(max(_ms_of(since), _ms_of(forwarder.created))) - 1
        high = position_of(_ms_of(until)) - 1
        vocabulary = await self.pipeline.vocabulary.refresh()
        for verb in sorted(verb_iris(wanted_verbs(forwarder, vocabulary), vocabulary)):
            async for docs in self.statements.scan(low, high, verb=verb):
                await self._check(report, verb, docs, forwarders or [forwarder], vocabulary)
        return report

    async def _check(
        self,
        report: Report,
        verb: str,
        docs: Sequence[StoredStatement],
        forwarders: Sequence[Forwarder],
        vocabulary: Vocabulary,
    ) -> None:
        """Classify one page of statements found under `verb`'s key. A statement also
        carries the keys of the statement it references, so only those whose own verb is
        `verb` count here (each is counted under exactly one key)."""
        forwarder = report.forwarder
        report.voided += sum(
            len(_own(verb, statement_matches([forwarder], replace(d, voided=False), vocabulary)))
            for d in docs
            if d.voided
        )
        candidates = _own(
            verb, [c for d in docs for c in statement_matches([forwarder], d, vocabulary)]
        )
        report.qualifying += len(candidates)
        ids = [c.event.id for c in candidates]
        states = await self.jobs.states(ids)
        missing: list[Match] = []
        dead: list[str] = []
        for candidate in candidates:
            state = states.get(candidate.event.id)
            if state is None:
                report.outcomes["missing"].add(candidate.event.statement_id)
                missing.append(candidate)
                continue
            report.outcomes[BY_STATE.get(state, "undelivered")].add(candidate.event.id)
            if state == "dead":
                dead.append(candidate.event.id)
        if report.requeued is not None and missing:
            await self._requeue(report.requeued, missing)
        if report.replayed_dead is not None and dead:
            report.replayed_dead += await self.pipeline.replay(
                {"_id": {"$in": dead}, "state": "dead"}, forwarders, self.clock()
            )

    async def _requeue(self, counts: dict[str, int], missing: Sequence[Match]) -> None:
        """Through the pipeline, exactly as discovery enqueues (`Pipeline.enqueue`)."""
        dispositions, new = await self.pipeline.enqueue(missing, self.clock())
        for disposition in dispositions:
            if disposition.event.id in new:
                counts[disposition.state] = counts.get(disposition.state, 0) + 1


def _own(verb: str, candidates: Sequence[Match]) -> list[Match]:
    return [c for c in candidates if c.statement.get("verb", {}).get("id") == verb]
