"""What one statement contributes to the rollups (pure).

A statement counts towards an activity when its object is that Activity. It adds one to
its canonical verb's count on the day of its `timestamp` (UTC), its learner (the actor's
IFI key) to the distinct learners of that verb, and its `result.score.scaled` (if any,
whatever the verb) to the activity's score statistics.

`Delta` folds many contributions, with a sign, into per-document increments: a batch of
statements becomes one update per rollup document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from statements.formats import parse_timestamp
from statements.index import agent_key


@dataclass(frozen=True, slots=True)
class Contribution:
    activity: str
    verb: str
    learner: str | None
    """IFI key of the actor; None for an anonymous Group (counted, never a learner)."""
    day: str
    """`YYYY-MM-DD` of the statement's timestamp in UTC."""
    score: float | None


def contribution_of(statement: Mapping[str, Any], verb: str) -> Contribution | None:
    """The statement's contribution under canonical `verb`, None when it adds nothing."""
    obj = statement.get("object")
    if not isinstance(obj, dict) or obj.get("objectType", "Activity") != "Activity":
        return None
    activity = obj.get("id")
    day = _day(statement.get("timestamp")) or _day(statement.get("stored"))
    if not isinstance(activity, str) or not verb or day is None:
        return None
    actor = statement.get("actor")
    return Contribution(
        activity=activity,
        verb=verb,
        learner=agent_key(actor) if isinstance(actor, dict) else None,
        day=day,
        score=_scaled(statement.get("result")),
    )


def _day(value: Any) -> str | None:
    moment = parse_timestamp(value) if isinstance(value, str) else None
    return None if moment is None else moment.astimezone(UTC).date().isoformat()


def _scaled(result: Any) -> float | None:
    score = result.get("score") if isinstance(result, dict) else None
    scaled = score.get("scaled") if isinstance(score, dict) else None
    if isinstance(scaled, bool) or not isinstance(scaled, int | float):
        return None
    return float(scaled)


def field_name(value: str) -> str:
    """A verb IRI or score as a MongoDB field name: `.`, `$` and `%` escaped."""
    return value.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def value_of(name: str) -> str:
    return name.replace("%2E", ".").replace("%24", "$").replace("%25", "%")


def score_key(score: float) -> str:
    return field_name(repr(score))


def day_id(activity: str, day: str) -> str:
    """Length-prefixed, so one activity's days form one contiguous `_id` range."""
    return f"{len(activity)}:{activity}|{day}"


def learner_id(activity: str, verb: str, learner: str) -> str:
    return f"{len(activity)}:{activity}|{len(verb)}:{verb}|{learner}"


@dataclass
class Delta:
    """Signed increments per rollup document, and the fields each document is created with."""

    days: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    learners: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    identity: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int) -> None:
        day = day_id(c.activity, c.day)
        self.identity[day] = {"a": c.activity, "d": c.day}
        _inc(self.days[day], f"c.{field_name(c.verb)}", sign)
        if c.score is not None:
            _inc(self.days[day], "s.n", sign)
            _inc(self.days[day], f"s.v.{score_key(c.score)}", sign)
        if c.learner is not None:
            lid = learner_id(c.activity, c.verb, c.learner)
            self.identity[lid] = {"a": c.activity, "v": c.verb, "l": c.learner}
            _inc(self.learners[lid], "n", sign)
            # the day's learners live in the day document: one write per (activity, day)
            _inc(self.days[day], f"l.{field_name(c.verb)}.{field_name(c.learner)}", sign)

    def __bool__(self) -> bool:
        return bool(self.days or self.learners)


def _inc(target: dict[str, float], name: str, amount: float) -> None:
    target[name] = target.get(name, 0) + amount
