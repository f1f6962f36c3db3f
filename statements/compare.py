"""Statement equivalence (1.0.3 Data 2.3.1 "Statement Immutability" and "Statement Comparison
Requirements"; 2.0 4.2 "Statement Immutability", 4.2.6 signing, 4.2.7 Duration).

Used when a statement id is sent again (equivalent: no change; different: 409 Conflict) and to
check a signed statement against its JWS payload ("logically equivalent"). The rule is:
differences that could have been caused by an exception to immutability are ignored, every
other difference counts. Concretely:

- Ignored at the top level (2.0's explicit list; 1.0.3's "assignments during LRS processing"
  and "Attachments"): `id`, `authority`, `stored`, `timestamp`, `version`, `attachments`.
- Ignored anywhere: a Verb's `display` and an Activity's `definition` (not part of the
  statement), the order of Group members (an unordered list), a missing `objectType` where
  the spec gives a default (Agent for actor, authority, instructor and members; Activity for
  objects and context activities), and a single context Activity vs a list of one (the LRS
  returns every contextActivities value as a list).
- Case-insensitive values: UUIDs (`registration`, StatementRef ids), the scheme and domain of
  an `mbox`, `mbox_sha1sum` (hex), and language tags (`context.language`). IRIs are compared
  as plain strings (RFC 3987 5.3.1, which 2.0 4.2.7 allows); other strings keep their case.
- A SubStatement's `timestamp` is compared as an instant to the millisecond (an LRS may
  truncate timestamps to milliseconds); `result.duration` is compared as a string except
  that seconds beyond 0.01 are ignored (2.0 4.2.7 Duration, 1.0.3 Data 4.6).
- Extensions and everything else are compared as JSON values: key order never matters, list
  order does, `1 == 1.0`, but `true` is not `1`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from statements.index import normalize_mbox
from statements.types import Statement

_Equal = Callable[[Any, Any], bool]
_MISSING: Any = object()

TOP_LEVEL_IGNORED = frozenset({"id", "authority", "stored", "timestamp", "version", "attachments"})
_OBJECT_TYPE = frozenset({"objectType"})
_ACTIVITY_IGNORED = frozenset({"objectType", "definition"})
_NUMBERS = frozenset({int, float})
_SCALARS = frozenset({str, int, float, bool, type(None)})
_SECONDS = re.compile(r"(\d+)(?:[.,](\d+))?S$")


def statements_equivalent(a: Statement, b: Statement) -> bool:
    """Whether two statements are the same statement under the immutability rules."""
    return _fields_equal(a, b, _STATEMENT, TOP_LEVEL_IGNORED)


def _fields_equal(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    table: Mapping[str, _Equal],
    ignored: frozenset[str] = frozenset(),
    default: _Equal | None = None,
) -> bool:
    """Compare two objects property by property, each with its own rule (JSON by default).

    Identical scalars are equal under every rule, so they skip the dispatch: most leaves of
    two copies of one statement are identical strings.
    """
    fallback = default or json_equal
    matched = 0
    for key, x in a.items():
        if key in ignored:
            continue
        matched += 1
        y = b.get(key, _MISSING)
        if x.__class__ is y.__class__ and x.__class__ in _SCALARS and x == y:
            continue
        if y is _MISSING or not table.get(key, fallback)(x, y):
            return False
    # every key of `a` is in `b`: `b` may only add ignored keys
    return len(b) == matched or len(b) == matched + len(ignored.intersection(b))


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: unordered objects, ordered arrays, numbers by value, no bool/int mix.

    Values are compared as orjson parses them (dict, list, str, int, float, bool, None).
    """
    cls = a.__class__
    if cls is not b.__class__:
        return cls in _NUMBERS and b.__class__ in _NUMBERS and bool(a == b)
    if cls is dict:
        if len(a) != len(b):
            return False
        for key, value in a.items():
            other = b.get(key, _MISSING)
            if value.__class__ is other.__class__ and value.__class__ in _SCALARS:
                if value != other:
                    return False
            elif not json_equal(value, other):
                return False
        return True
    if cls is list:
        return len(a) == len(b) and all(map(json_equal, a, b))
    return bool(a == b)


def _both_objects(a: Any, b: Any) -> bool:
    return isinstance(a, dict) and isinstance(b, dict)


def _case_insensitive(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return json_equal(a, b)


def _mbox_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize_mbox(a) == normalize_mbox(b)
    return json_equal(a, b)


# -- agents and groups ----------------------------------------------------------------------


def _agent_equal(a: Any, b: Any) -> bool:
    """Agents and Groups: default objectType Agent, members as an unordered collection."""
    if not _both_objects(a, b):
        return json_equal(a, b)
    if a.get("objectType", "Agent") != b.get("objectType", "Agent"):
        return False
    return _fields_equal(a, b, _AGENT, _OBJECT_TYPE)


def _members_equal(a: Any, b: Any) -> bool:
    """Group members compared as a multiset: "the LRS can return this list in any order"."""
    if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
        return json_equal(a, b)
    if len(a) == 1:
        return _agent_equal(a[0], b[0])
    return Counter(map(_agent_fingerprint, a)) == Counter(map(_agent_fingerprint, b))


def _agent_fingerprint(agent: Any) -> Hashable:
    """A hashable form of an Agent under the same rules as `_agent_equal`."""
    if not isinstance(agent, dict):
        return _freeze(agent)
    items = [("objectType", agent.get("objectType", "Agent"))]
    for key, value in agent.items():
        if key == "mbox" and isinstance(value, str):
            items.append((key, normalize_mbox(value)))
        elif key == "mbox_sha1sum" and isinstance(value, str):
            items.append((key, value.lower()))
        elif key != "objectType":
            items.append((key, _freeze(value)))
    return tuple(sorted(items, key=lambda item: item[0]))


def _freeze(value: Any) -> Hashable:
    if isinstance(value, dict):
        return ("{}", tuple(sorted(((k, _freeze(v)) for k, v in value.items()), key=_first)))
    if isinstance(value, list):
        return ("[]", tuple(_freeze(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    return cast(Hashable, value)  # str, int, float or None: the hashable JSON scalars


def _first(item: tuple[str, Any]) -> str:
    return item[0]


# -- verb, object, activities ---------------------------------------------------------------


def _verb_equal(a: Any, b: Any) -> bool:
    """Only the id: "The "display" property of the Verb is not considered part of the
    Statement itself" (1.0.3 Data 2.3.1; 2.0 4.2 "Verb (except for display)")."""
    if not _both_objects(a, b):
        return json_equal(a, b)
    return _fields_equal(a, b, {}, frozenset({"display"}))


def _activity_equal(a: Any, b: Any) -> bool:
    """By id: "Any referenced Activity Definitions" are not considered (2.0 4.2)."""
    if not _both_objects(a, b):
        return json_equal(a, b)
    if a.get("objectType", "Activity") != b.get("objectType", "Activity"):
        return False
    return _fields_equal(a, b, {}, _ACTIVITY_IGNORED)


def _object_equal(a: Any, b: Any) -> bool:
    """The statement's object, by kind; a missing objectType means Activity (2.0 4.2.2.3)."""
    if not _both_objects(a, b):
        return json_equal(a, b)
    kind = a.get("objectType", "Activity")
    if kind != b.get("objectType", "Activity"):
        return False
    if kind == "Activity":
        return _fields_equal(a, b, {}, _ACTIVITY_IGNORED)
    if kind in ("Agent", "Group"):
        return _agent_equal(a, b)
    if kind == "SubStatement":
        return _fields_equal(a, b, _STATEMENT, _OBJECT_TYPE)
    return _fields_equal(a, b, _STATEMENT_REF)


def _context_activities_equal(a: Any, b: Any) -> bool:
    if not _both_objects(a, b):
        return json_equal(a, b)
    return _fields_equal(a, b, {}, default=_activity_list_equal)


def _activity_list_equal(a: Any, b: Any) -> bool:
    """A single Activity equals a list of one (1.0.3 Data 2.4.6.2; 2.0 4.2.4.2)."""
    a_list = [a] if isinstance(a, dict) else a
    b_list = [b] if isinstance(b, dict) else b
    if not (isinstance(a_list, list) and isinstance(b_list, list)) or len(a_list) != len(b_list):
        return False
    return all(map(_activity_equal, a_list, b_list))


def _list_of(compare: _Equal) -> _Equal:
    def equal(a: Any, b: Any) -> bool:
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return json_equal(a, b)
        return all(map(compare, a, b))

    return equal


def _table_of(table: Mapping[str, _Equal]) -> _Equal:
    def equal(a: Any, b: Any) -> bool:
        return _fields_equal(a, b, table) if _both_objects(a, b) else json_equal(a, b)

    return equal


# -- time -----------------------------------------------------------------------------------


def _timestamp_equal(a: Any, b: Any) -> bool:
    """Instants, to the millisecond: serialization and timezone are not part of a statement."""
    x, y = _instant(a), _instant(b)
    if x is None or y is None:
        return json_equal(a, b)
    return x == y


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def _duration_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b or _centiseconds(a) == _centiseconds(b)
    return json_equal(a, b)


def _centiseconds(duration: str) -> str:
    """`PT1.2345S` -> `PT1.23S`, `PT1S` -> `PT1.00S`: "any precision beyond 0.01 second
    precision shall not be included in the comparison" (2.0 4.2.7 Duration)."""
    upper = duration.upper()
    match = _SECONDS.search(upper)
    if match is None:
        return upper
    fraction = (match.group(2) or "")[:2].ljust(2, "0")
    return f"{upper[: match.start()]}{int(match.group(1))}.{fraction}S"


# -- dispatch tables ------------------------------------------------------------------------

_AGENT: dict[str, _Equal] = {
    "mbox": _mbox_equal,
    "mbox_sha1sum": _case_insensitive,
    "member": _members_equal,
}
_STATEMENT_REF: dict[str, _Equal] = {"id": _case_insensitive}
_CONTEXT: dict[str, _Equal] = {
    "registration": _case_insensitive,
    "instructor": _agent_equal,
    "team": _agent_equal,
    "contextActivities": _context_activities_equal,
    "language": _case_insensitive,
    "statement": _table_of(_STATEMENT_REF),
    "contextAgents": _list_of(_table_of({"agent": _agent_equal})),
    "contextGroups": _list_of(_table_of({"group": _agent_equal})),
}
_STATEMENT: dict[str, _Equal] = {
    "actor": _agent_equal,
    "verb": _verb_equal,
    "object": _object_equal,
    "result": _table_of({"duration": _duration_equal}),
    "context": _table_of(_CONTEXT),
    "timestamp": _timestamp_equal,
    "authority": _agent_equal,
}
