"""Statement -> event -> payload.

An `Event` is data: what happened, to whom, on what, with which result, plus its stable
id. A payload is one rendering of it: generic forwarders send `generic_payload(event)`;
marketplace and CRM forwarders send what their mapping template renders for the resolved
person (`forwarders.pipeline`). Either way the payload is rendered once and stored with the
event, and the worker sends it as stored.

Event ids are uuid5 of (forwarder id, statement id), so a replay, a backfill or a second
discovery of the same statement carries the same `webhook-id` and receivers de-duplicate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeGuard

from statements.index import agent_key

NAMESPACE = uuid.UUID("1b0d4f0e-5a37-5c43-9d35-6a1f3c2b7e10")
REVOKED = "learning.revoked"
TEST = "learning.test"
IFI_FIELDS = ("mbox", "mbox_sha1sum", "openid", "account")


def event_id(forwarder_id: str, statement_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{forwarder_id}:{statement_id}"))


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    forwarder_id: str
    statement_id: str
    timestamp: str
    """When it happened: the statement's `timestamp` (its `stored` when absent)."""
    learner: dict[str, Any] = field(default_factory=dict)
    activity: dict[str, Any] = field(default_factory=dict)
    verb: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    registration: str | None = None
    revokes: str | None = None
    """For `learning.revoked`: the id of the event being revoked."""
    voiding_statement_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, the nested mappings shared, not copied: callers store or read
        them and never change them, and `dataclasses.asdict` deep-copies every value (about
        90 us an event, against 3 us: a worker writes each delivered event's document)."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


_FIELDS = tuple(f.name for f in fields(Event))


def as_mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one: statement fields are read
    without a check at every step (validation already guaranteed the shape that matters)."""
    return value if isinstance(value, dict) else {}


def _first_text(language_map: Any) -> str | None:
    """The English entry of a language map when there is one, else its first entry."""
    names = as_mapping(language_map)
    for tag in ("en-US", "en", "en-GB"):
        if isinstance(names.get(tag), str):
            return str(names[tag])
    return next((str(v) for v in names.values() if isinstance(v, str)), None)


def event_type(verb_id: str) -> str:
    """`learning.<last segment of the verb IRI>`: completed, passed, failed, mastered..."""
    tail = re.split(r"[/#:]", verb_id.rstrip("/#"))[-1].lower()
    return "learning." + (re.sub(r"[^a-z0-9_-]", "_", tail) or "statement")


def learner_of(actor: Any) -> dict[str, Any]:
    agent = as_mapping(actor)
    learner: dict[str, Any] = {k: agent[k] for k in IFI_FIELDS if k in agent}
    learner["name"] = agent.get("name")
    learner["object_type"] = agent.get("objectType", "Agent")
    learner["key"] = agent_key(agent)
    return learner


def score_percent(score: Any) -> float | None:
    """The score on 0-100, the one rule for every payload (the generic one here, templates
    through `normalize_score_0_100`): `scaled` x 100 when given, else `raw` within
    `min`..`max` (min 0); clamped to 0..100 (a negative score counts as 0), rounded to two
    decimals. None when it cannot be placed (no max, or max not above min)."""
    values = as_mapping(score)
    scaled = values.get("scaled")
    if _number(scaled):
        return clamped_percent(float(scaled))
    raw, low, high = values.get("raw"), values.get("min", 0), values.get("max")
    if not (_number(raw) and _number(low) and _number(high)) or high <= low:
        return None
    return clamped_percent((raw - low) / (high - low))


def clamped_percent(scaled: float) -> float:
    """A scaled score (-1..1) on 0..100: a negative score counts as 0."""
    return round(max(0.0, min(1.0, scaled)) * 100, 2)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def result_of(result: Any) -> dict[str, Any]:
    values = as_mapping(result)
    return {
        "success": values.get("success"),
        "completion": values.get("completion"),
        "score": score_percent(values.get("score")),
        "duration": values.get("duration"),
    }


def statement_event(
    forwarder_id: str, statement: Mapping[str, Any], canonical: str | None = None
) -> Event:
    """`canonical` (the statement's canonical verb) names the event's type when it is a
    plain word: every provider's `completed` makes a `learning.completed`."""
    obj = as_mapping(statement.get("object"))
    definition = as_mapping(obj.get("definition"))
    verb = as_mapping(statement.get("verb"))
    registration = as_mapping(statement.get("context")).get("registration")
    statement_id = str(statement["id"])
    return Event(
        id=event_id(forwarder_id, statement_id),
        type=event_type(canonical if canonical else str(verb.get("id", ""))),
        forwarder_id=forwarder_id,
        statement_id=statement_id,
        timestamp=str(statement.get("timestamp") or statement.get("stored")),
        learner=learner_of(statement.get("actor")),
        activity={
            "id": obj.get("id"),
            "name": _first_text(definition.get("name")),
            "type": definition.get("type"),
        },
        verb={"id": verb.get("id"), "name": _first_text(verb.get("display"))},
        result=result_of(statement.get("result")),
        registration=registration if isinstance(registration, str) else None,
    )


def revoked_event(original: Event, voiding: Mapping[str, Any]) -> Event:
    """The revocation of `original`, caused by the voiding statement `voiding`."""
    voiding_id = str(voiding["id"])
    return replace(
        original,
        id=event_id(original.forwarder_id, voiding_id),
        type=REVOKED,
        timestamp=str(voiding.get("timestamp") or voiding.get("stored")),
        revokes=original.id,
        voiding_statement_id=voiding_id,
    )


def sample_event(forwarder_id: str, timestamp: str) -> Event:
    """A sample the admin sends to check an endpoint: a random id, never de-duplicated."""
    return Event(
        id=str(uuid.uuid4()),
        type=TEST,
        forwarder_id=forwarder_id,
        statement_id=str(uuid.UUID(int=0)),
        timestamp=timestamp,
        learner={"name": "Test Learner", "mbox": "mailto:test@example.com", "key": None},
        activity={"id": "https://example.com/activities/test", "name": "Test", "type": None},
        verb={"id": "http://adlnet.gov/expapi/verbs/completed", "name": "completed"},
        result={"success": True, "completion": True, "score": 100.0, "duration": "PT1M"},
    )


# -- renderings -----------------------------------------------------------------------------


def generic_payload(event: Event) -> dict[str, Any]:
    """The documented generic payload (docs/forwarders.md)."""
    data: dict[str, Any] = {
        "learner": event.learner,
        "activity": event.activity,
        "verb": event.verb,
        "result": event.result,
        "registration": event.registration,
        "statement_id": event.statement_id,
    }
    if event.revokes is not None:
        data["revokes_event_id"] = event.revokes
        data["voiding_statement_id"] = event.voiding_statement_id
    return {"type": event.type, "timestamp": event.timestamp, "data": data}
