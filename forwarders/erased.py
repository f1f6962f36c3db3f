"""Events written while an erasure ran: which of them the erasure can no longer see.

An event is built from a statement read before it is written, and the worker may even
deliver it before writing it (`claim.Claim.keep`). An erasure that looks for a learner's
events between that read and that write finds nothing, then deletes or rewrites the
statement, and the event would be written afterwards with the learner's data. So each
writer of new events reads their statements back after its write, and erasure looks for
events again after it has rewritten the statements (`lrs.erasure`): if the write came
first, erasure's second look finds the event; if not, the statement was already deleted or
rewritten when the writer read it back, and the writer does what erasure would have done.

The decision is exact for events as the pipeline builds them: an event's learner is its
statement's actor (`events.learner_of`), and only erasure rewrites a stored statement's
actor, so a learner that is no longer the statement's actor was erased."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from forwarders.events import learner_of
from forwarders.source import StoredStatement


@dataclass(frozen=True, slots=True)
class Written:
    """A new event document as written: its id, its statement and its learner's key."""

    event_id: str
    statement_id: str
    learner_key: str | None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Written:
        learner = document.get("event", {}).get("learner") or {}
        return cls(str(document["_id"]), str(document["statement"]), learner.get("key"))


@dataclass(slots=True)
class Erased:
    """What to do with written events whose statements an erasure reached meanwhile."""

    deleted: list[str] = field(default_factory=list)
    """Events of statements that are gone: erasure deletes a learner's own statements."""
    scrubbed: dict[str, list[str]] = field(default_factory=dict)
    """Events whose learner is no longer their statement's actor, by the actor's key."""
    learners: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The learner each group of `scrubbed` gets: the statement's actor as rewritten."""


def checked(written: Sequence[Written]) -> list[str]:
    """The statements to read back: those of events with an identified learner (an event
    without one, such as an anonymous Group's or an endpoint test's, names nobody)."""
    return sorted({w.statement_id for w in written if w.learner_key is not None})


def erased_meanwhile(written: Sequence[Written], stored: Mapping[str, StoredStatement]) -> Erased:
    """`stored`: the statements of `checked(written)` as read after the write, voided or not."""
    erased = Erased()
    for event in written:
        if event.learner_key is None:
            continue
        statement = stored.get(event.statement_id)
        if statement is None:
            erased.deleted.append(event.event_id)
            continue
        learner = learner_of(statement.statement.get("actor"))
        if learner["key"] != event.learner_key:
            erased.scrubbed.setdefault(str(learner["key"]), []).append(event.event_id)
            erased.learners[str(learner["key"])] = learner
    return erased
