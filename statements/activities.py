"""Activity definitions seen in statements, and the canonical Activity object built from them
(1.0.3 Communication 2.5 and Data 2.4.4.1, 2.0 4.1.6.4).

The Activities Resource returns "the complete Activity Object": every definition the LRS
trusts (see `lrs.ingest`: statements written with the `define` scope) is folded in stored
order by `merge_definitions`:

- language maps (`name`, `description`) and `extensions` are merged key by key, later
  values winning, so two statements in two languages give both ("The Activity Object must
  contain all available information about an activity from any statements");
- interaction components (`choices`, `scale`, `source`, `target`, `steps`) are merged by
  component id, their descriptions merged as language maps;
- `interactionType` and `correctResponsesPattern` keep their first value: "An LRS SHOULD
  NOT make significant changes to its canonical definition for the Activity based on an
  updated definition e.g. changes to correct responses";
- every other property (`type`, `moreInfo`) takes the later value (a "small correction").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from functools import reduce
from typing import Any

import orjson

LANGUAGE_MAPS = frozenset({"name", "description", "extensions"})
COMPONENT_LISTS = frozenset({"choices", "scale", "source", "target", "steps"})
FIRST_WINS = frozenset({"interactionType", "correctResponsesPattern"})
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")


def activity_definitions(statement: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, definition) of every Activity carrying a non-empty definition: the object, the
    context activities, and both again inside a SubStatement."""
    obj = _mapping(statement.get("object"))
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        yield from _definition(obj)
    yield from _context_definitions(_mapping(statement.get("context")))
    if kind == "SubStatement":
        yield from activity_definitions(obj)


def _context_definitions(context: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    activities = _mapping(context.get("contextActivities"))
    for kind in CONTEXT_ACTIVITY_KINDS:
        value = activities.get(kind)
        for activity in [value] if isinstance(value, dict) else _list(value):
            yield from _definition(_mapping(activity))


def _definition(activity: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    activity_id, definition = activity.get("id"), activity.get("definition")
    if isinstance(activity_id, str) and isinstance(definition, dict) and definition:
        yield activity_id, definition


def canonical_definition(definition: dict[str, Any]) -> bytes:
    """The definition as JSON with sorted keys: equal definitions give equal bytes."""
    return orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)


def definition_digest(activity_id: str, canonical: bytes) -> str:
    """Identifies one (activity, definition) pair, whatever the key order it was sent in."""
    return hashlib.sha1(activity_id.encode() + b"\n" + canonical, usedforsecurity=False).hexdigest()


def merge_definitions(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    merged = dict(older)
    for key, value in newer.items():
        old = merged.get(key)
        if key in FIRST_WINS and old is not None:
            continue
        if key in LANGUAGE_MAPS and isinstance(old, dict) and isinstance(value, dict):
            merged[key] = {**old, **value}
        elif key in COMPONENT_LISTS and isinstance(old, list) and isinstance(value, list):
            merged[key] = _merge_components(old, value)
        else:
            merged[key] = value
    return merged


def _merge_components(older: list[Any], newer: list[Any]) -> list[Any]:
    """Components by id, in first-seen order; a component's descriptions are merged."""
    by_id: dict[Any, Any] = {}
    for component in [*older, *newer]:
        if not isinstance(component, dict):
            continue
        known = by_id.get(component.get("id"))
        if isinstance(known, dict):
            component = merge_definitions(known, component)
        by_id[component.get("id")] = component
    return list(by_id.values())


def activity_object(activity_id: str, definitions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The Activity for the Activities Resource: definitions folded oldest first."""
    merged: dict[str, Any] = reduce(merge_definitions, definitions, {})
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if merged:
        activity["definition"] = merged
    return activity


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
