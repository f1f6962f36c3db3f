"""What one statement contributes to the rollups (pure).

A statement counts towards an activity when its object is that Activity. It adds one to
its canonical verb's count on the day of its `timestamp` (UTC), its `result.score.scaled`
(if any, whatever the verb) to the activity's scores, and, for `attended`, its
`result.duration` to the attendance time. Its learner (the actor's IFI key) gets the verb
and the day in the (activity, learner) document, and the statement's timestamp as a
candidate for the learner's first `attempted` or first `completed`.

`Delta` folds many contributions, with a sign, into per-document increments: a batch of
statements becomes one update per rollup document. A first time is a minimum, which a
taken-back statement cannot undo: taking one back marks its activity `stale`, for a recount.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analytics.periods import DAY, KINDS, periods_of
from statements.formats import parse_timestamp
from statements.index import agent_key

STORE = "*"
"""The reserved activity key of the store-wide day documents (every activity's counts per
day and verb, summed): never an activity's id, which is an absolute IRI."""
FIRST_VERBS = ("attempted", "completed")
"""The verbs whose first time per learner the learner rollup keeps (time to completion)."""
ATTENDED = "attended"
IFI_FIELDS = ("mbox", "mbox_sha1sum", "openid", "account")
_DURATION = re.compile(
    r"P(?:(?P<Y>[\d.]+)Y)?(?:(?P<M>[\d.]+)M)?(?:(?P<W>[\d.]+)W)?(?:(?P<D>[\d.]+)D)?"
    r"(?:T(?:(?P<h>[\d.]+)H)?(?:(?P<m>[\d.]+)M)?(?:(?P<s>[\d.]+)S)?)?"
)
_SECONDS = {
    "Y": 365 * 86400,
    "M": 30 * 86400,
    "W": 7 * 86400,
    "D": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
}


@dataclass(frozen=True, slots=True)
class Contribution:
    activity: str
    verb: str
    learner: str | None
    """IFI key of the actor; None for an anonymous Group (counted, never a learner)."""
    day: str
    """`YYYY-MM-DD` of the statement's timestamp in UTC."""
    score: float | None
    moment_ms: int = 0
    """The statement's timestamp, milliseconds since the epoch."""
    duration_ms: int | None = None
    """`result.duration` in milliseconds (integers add and take back exactly)."""
    who: dict[str, Any] | None = None
    """The actor's identifier (its IFI property alone), to resolve the learner to a person."""


def contribution_of(statement: Mapping[str, Any], verb: str) -> Contribution | None:
    """The statement's contribution under canonical `verb`, None when it adds nothing."""
    obj = statement.get("object")
    if not isinstance(obj, dict) or obj.get("objectType", "Activity") != "Activity":
        return None
    activity = obj.get("id")
    moment = _moment(statement.get("timestamp")) or _moment(statement.get("stored"))
    if not isinstance(activity, str) or not verb or moment is None:
        return None
    actor = statement.get("actor")
    learner = agent_key(actor) if isinstance(actor, dict) else None
    result = statement.get("result")
    return Contribution(
        activity=activity,
        verb=verb,
        learner=learner,
        day=moment.date().isoformat(),
        score=_scaled(result),
        moment_ms=int(moment.timestamp() * 1000),
        duration_ms=_milliseconds(result.get("duration") if isinstance(result, dict) else None),
        who=_ifi(actor) if learner is not None and isinstance(actor, dict) else None,
    )


def identifier_of(learner: str) -> dict[str, Any] | None:
    """The actor identifier a learner (`statements.index.agent_key`) stands for, when the key
    alone says it: an identifier that resolves to the same person as the one sent (an e-mail
    with its domain lowercased; an account whose home page or name holds `::` is ambiguous,
    so None: the caller reads the learner document's)."""
    kind, _, rest = learner.partition("::")
    if kind in ("mbox", "mbox_sha1sum", "openid"):
        return {kind: rest}
    if kind == "account" and rest.count("::") == 1:
        home, name = rest.split("::")
        return {"account": {"homePage": home, "name": name}}
    return None


def _moment(value: Any) -> datetime | None:
    moment = parse_timestamp(value) if isinstance(value, str) else None
    return None if moment is None else moment.astimezone(UTC)


def duration_seconds(value: Any) -> float | None:
    """An ISO 8601 duration in seconds (a year as 365 days, a month as 30), None if not one."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) and value != "P" else None
    if match is None:
        return None
    try:
        return sum(float(n) * _SECONDS[unit] for unit, n in match.groupdict().items() if n)
    except ValueError:
        return None


def _milliseconds(value: Any) -> int | None:
    seconds = duration_seconds(value)
    return None if seconds is None else round(seconds * 1000)


def _ifi(actor: dict[str, Any]) -> dict[str, Any]:
    return {k: actor[k] for k in IFI_FIELDS if k in actor}


def _scaled(result: Any) -> float | None:
    score = result.get("score") if isinstance(result, dict) else None
    scaled = score.get("scaled") if isinstance(score, dict) else None
    if isinstance(scaled, bool) or not isinstance(scaled, int | float):
        return None
    return float(scaled)


def field_name(value: str) -> str:
    """A verb IRI, learner or score as a MongoDB field name: `.`, `$`, NUL (which BSON keys
    cannot hold: an account name may) and `%` escaped."""
    escaped = value.replace("%", "%25").replace(".", "%2E").replace("$", "%24")
    return escaped.replace("\x00", "%00")


@functools.lru_cache(maxsize=4096)
def value_of(name: str) -> str:
    """`field_name` undone; kept for the names seen most (an answer unescapes the same
    verbs and scores in every document it reads)."""
    unescaped = name.replace("%00", "\x00").replace("%2E", ".").replace("%24", "$")
    return unescaped.replace("%25", "%")


def score_key(score: float) -> str:
    return field_name(repr(score))


def day_id(activity: str, day: str) -> str:
    """Length-prefixed, so one activity's days form one contiguous `_id` range."""
    return f"{len(activity)}:{activity}|{day}"


def period_id(activity: str, interval: str, start: str) -> str:
    """A day's document id, or a week's or month's (`w`/`m` before its first day)."""
    return day_id(activity, start if interval == DAY else KINDS[interval] + start)


def learner_id(activity: str, learner: str) -> str:
    return f"{len(activity)}:{activity}|{learner}"


def seconds_key(seconds: float) -> str:
    return field_name(repr(seconds))


def day_of_ms(ms: int) -> str:
    return (date(1970, 1, 1) + timedelta(milliseconds=ms)).isoformat()


Increments = dict[str, float]


@dataclass
class Delta:
    """Signed increments per rollup document, the first times to keep (a minimum), the
    fields each document is created with, and the activities a take-back left stale.

    `days` and `periods` (weeks and months) take the same increments: a statement counts in
    its day, week and month. `completions` are the learners' first completions by the
    period they fall in, which only the totals' pass knows (`analytics.totals`): set there,
    never added to, so computing them twice changes nothing."""

    days: dict[str, Increments] = field(default_factory=lambda: defaultdict(dict))
    periods: dict[str, Increments] = field(default_factory=lambda: defaultdict(dict))
    learners: dict[str, Increments] = field(default_factory=lambda: defaultdict(dict))
    firsts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    store: dict[str, Increments] = field(default_factory=lambda: defaultdict(dict))
    """The store-wide day documents' increments (`STORE`): the counts alone."""
    completions: dict[str, Increments] = field(default_factory=dict)
    identity: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)

    def add(self, c: Contribution, sign: int) -> None:
        verb = field_name(c.verb)
        everything = day_id(STORE, c.day)
        self.identity[everything] = {"a": STORE, "d": c.day}
        _inc(self.store[everything], f"c.{verb}", sign)
        attended = c.duration_ms if c.verb == ATTENDED and c.duration_ms else None
        learner = None if c.learner is None else field_name(c.learner)
        for doc in self._calendar(c.activity, c.day):
            _inc(doc, f"c.{verb}", sign)
            if c.score is not None:
                _inc(doc, "s.n", sign)
                _inc(doc, f"s.v.{score_key(c.score)}", sign)
            if attended is not None:
                _inc(doc, "m", sign * attended)
            if learner is not None:
                _inc(doc, f"u.{verb}.{learner}", sign)
                if attended is not None:
                    _inc(doc, f"p.{learner}", sign * attended)
        if c.learner is None:
            return
        lid = learner_id(c.activity, c.learner)
        # the first statement's identifier: actors with one key may spell it differently
        self.identity.setdefault(lid, {"a": c.activity, "l": c.learner, "who": c.who or {}})
        _inc(self.learners[lid], f"v.{verb}", sign)
        if c.verb in FIRST_VERBS:
            if sign > 0:
                first = self.firsts[lid]
                first[c.verb] = min(first.get(c.verb, c.moment_ms), c.moment_ms)
            else:
                self.stale.add(c.activity)

    def _calendar(self, activity: str, day: str) -> list[Increments]:
        """The increments of the day's, week's and month's documents of the activity."""
        docs = []
        for interval, start in periods_of(day):
            doc_id = period_id(activity, interval, start)
            self.identity[doc_id] = {"a": activity, "d": start} | (
                {} if interval == DAY else {"k": KINDS[interval]}
            )
            docs.append((self.days if interval == DAY else self.periods)[doc_id])
        return docs

    def completion_increments(
        self, activity: str, learner: str, completed_ms: int, seconds: float, sign: int
    ) -> dict[str, Increments]:
        """A learner's first completion (`t.<learner>.<seconds>`) in its day, week and
        month documents, for `completions`."""
        name = f"t.{field_name(learner)}.{seconds_key(seconds)}"
        found = {}
        for interval, start in periods_of(day_of_ms(completed_ms)):
            doc_id = period_id(activity, interval, start)
            self.identity[doc_id] = {"a": activity, "d": start} | (
                {} if interval == DAY else {"k": KINDS[interval]}
            )
            found[doc_id] = {name: float(sign)}
        return found

    def calendar(self) -> tuple[dict[str, Increments], dict[str, Increments]]:
        """The day and period documents' increments, first completions included."""
        days, periods = _copy(self.days), _copy(self.periods)
        for doc_id, inc in self.completions.items():
            target = periods if doc_id in self.periods or _is_period(doc_id) else days
            for name, amount in inc.items():
                _inc(target.setdefault(doc_id, {}), name, amount)
        return days, periods

    def __bool__(self) -> bool:
        return bool(self.days or self.learners)


def _is_period(doc_id: str) -> bool:
    """A week's or month's id: its start follows `|w` or `|m` (a day's is a date)."""
    return doc_id.rsplit("|", 1)[1][:1] in ("w", "m")


def _copy(part: dict[str, Increments]) -> dict[str, Increments]:
    return {doc_id: dict(inc) for doc_id, inc in part.items()}


def _inc(target: dict[str, float], name: str, amount: float) -> None:
    target[name] = target.get(name, 0) + amount
