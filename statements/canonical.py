"""The `ids` and `canonical` formats of GET /statements (1.0.3 Communication 2.1.3 `format` and
"Language Filtering Requirements for Canonical Format Statements"; 2.0 4.1.6.1).

`ids`: "only include minimum information necessary in Agent, Activity, Verb and Group Objects
to identify them. For Anonymous Groups this means including the minimum information needed to
identify each member." Agents and identified Groups keep `objectType` (when sent) and their
IFI; anonymous Groups keep `objectType` and their members in ids form; Verbs and Activities
keep only `id` (the conformance suite counts exactly one key on an Activity; a missing
objectType means Activity anyway). Everywhere: actor, object, context, authority, SubStatement.

`canonical`: Activities and Verbs with every language map reduced to the single entry that
best fits the Accept-Language preferences, "applied to each language map individually";
Agents and Groups as in `exact`. Both functions return new objects and never mutate their
input; subtrees they do not change are shared with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from statements.types import Statement

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")

_Transform = Callable[[Any], Any]


# -- format=ids -----------------------------------------------------------------------------


def ids_format(statement: Statement) -> Statement:
    """The statement with Agents, Groups, Verbs and Activities reduced to their identifiers."""
    out = _statement_ids(statement)
    if isinstance(statement.get("authority"), dict):
        out["authority"] = agent_ids(statement["authority"])
    return out


def agent_ids(agent: Mapping[str, Any]) -> dict[str, Any]:
    """An Agent or identified Group as objectType + IFI; an anonymous Group keeps its members."""
    out: dict[str, Any] = {}
    if "objectType" in agent:
        out["objectType"] = agent["objectType"]
    for name in IFI_PROPERTIES:
        if name in agent:
            out[name] = agent[name]
            return out
    members = agent.get("member")
    if isinstance(members, list):
        out["member"] = [agent_ids(m) if isinstance(m, dict) else m for m in members]
    return out


def _statement_ids(statement: Mapping[str, Any]) -> dict[str, Any]:
    """Actor, verb, object and context of a statement or SubStatement in ids form."""
    out = dict(statement)
    if isinstance(statement.get("actor"), dict):
        out["actor"] = agent_ids(statement["actor"])
    verb = statement.get("verb")
    if isinstance(verb, dict) and "id" in verb:
        out["verb"] = {"id": verb["id"]}
    if isinstance(statement.get("object"), dict):
        out["object"] = _object_ids(statement["object"])
    if isinstance(statement.get("context"), dict):
        out["context"] = _map_context(statement["context"], _activity_ids, agent_ids)
    return out


def _object_ids(obj: Mapping[str, Any]) -> Any:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return _activity_ids(obj)
    if kind in ("Agent", "Group"):
        return agent_ids(obj)
    if kind == "SubStatement":
        return _statement_ids(obj)
    return obj  # a StatementRef is already minimal


def _activity_ids(activity: Any) -> Any:
    if isinstance(activity, dict) and "id" in activity:
        return {"id": activity["id"]}
    return activity


def _map_context(
    context: Mapping[str, Any], activity: _Transform, agent: _Transform
) -> dict[str, Any]:
    """Apply `activity` to every context Activity and `agent` to every context Agent/Group.

    Context Activities come back as lists even when stored as a single object: the LRS
    "MUST return every value in the contextActivities Object as an array".
    """
    out = dict(context)
    for name in ("instructor", "team"):
        if isinstance(context.get(name), dict):
            out[name] = agent(context[name])
    context_activities = context.get("contextActivities")
    if isinstance(context_activities, dict):
        out["contextActivities"] = {
            kind: [activity(a) for a in ([value] if isinstance(value, dict) else value)]
            if isinstance(value, dict | list)
            else value
            for kind, value in context_activities.items()
        }
    for name, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
        entries = context.get(name)
        if isinstance(entries, list):
            out[name] = [_map_entry(entry, inner, agent) for entry in entries]
    return out


def _map_entry(entry: Any, inner: str, agent: _Transform) -> Any:
    if isinstance(entry, dict) and isinstance(entry.get(inner), dict):
        return {**entry, inner: agent(entry[inner])}
    return entry


# -- format=canonical -----------------------------------------------------------------------


def canonical_format(
    statement: Statement,
    languages: Sequence[str],
    *,
    definitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    """The statement with one language per Activity and Verb language map.

    `languages` is the parsed Accept-Language list, best first (`parse_accept_language`).
    `definitions` optionally maps Activity ids to the LRS's canonical definitions, which then
    replace the definitions carried by the statement ("populated with the canonical definition
    of the Activity Objects [...] as determined by the LRS").
    """
    return _Canonicalizer(tuple(languages), definitions or {}).statement(statement)


class _Canonicalizer:
    """The walk for one request: the preference list and the canonical definitions."""

    def __init__(
        self, languages: tuple[str, ...], definitions: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.languages = languages
        self.definitions = definitions

    def statement(self, statement: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(statement)
        verb = statement.get("verb")
        if isinstance(verb, dict) and isinstance(verb.get("display"), dict):
            out["verb"] = {**verb, "display": self.language_map(verb["display"])}
        obj = statement.get("object")
        if isinstance(obj, dict):
            kind = obj.get("objectType", "Activity")
            if kind == "Activity":
                out["object"] = self.activity(obj)
            elif kind == "SubStatement":
                out["object"] = self.statement(obj)
        if isinstance(statement.get("context"), dict):
            out["context"] = _map_context(statement["context"], self.activity, _same)
        return out

    def activity(self, activity: Any) -> Any:
        if not isinstance(activity, dict):
            return activity
        definition = self.definitions.get(activity.get("id", ""), activity.get("definition"))
        if not isinstance(definition, dict):
            return activity
        return {**activity, "definition": self.definition(definition)}

    def definition(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Name, description, and the description of every interaction component."""
        out = dict(definition)
        for name in ("name", "description"):
            if isinstance(definition.get(name), dict):
                out[name] = self.language_map(definition[name])
        for name in INTERACTION_COMPONENT_LISTS:
            components = definition.get(name)
            if isinstance(components, list):
                out[name] = [self.component(c) for c in components]
        return out

    def component(self, component: Any) -> Any:
        if isinstance(component, dict) and isinstance(component.get("description"), dict):
            return {**component, "description": self.language_map(component["description"])}
        return component

    def language_map(self, language_map: Mapping[str, Any]) -> dict[str, Any]:
        tag = best_language(language_map, self.languages)
        return {} if tag is None else {tag: language_map[tag]}


def _same(value: Any) -> Any:
    return value


# -- language negotiation -------------------------------------------------------------------


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges of an Accept-Language header, best first (RFC 2616 14.4).

    Ranges with `q=0` ("not acceptable") and malformed entries are dropped; equal q-values
    keep the header's order.
    """
    if not header:
        return []
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.partition(";")
        tag = tag.strip()
        quality = _quality(params)
        if tag and quality is not None and quality > 0:
            weighted.append((quality, tag))
    weighted.sort(key=lambda item: -item[0])
    return [tag for _, tag in weighted]


def _quality(params: str) -> float | None:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0


def best_language(language_map: Mapping[str, Any], languages: Sequence[str]) -> str | None:
    """The key of the entry to return, or None for an empty map.

    In order: the first range that equals a tag or is a prefix of one (RFC 2616 14.4, case
    insensitive; `*` takes any tag); then each range truncated subtag by subtag (RFC 4647
    3.4 lookup, so `en-GB` finds `en`); then a tag with the same primary language (`en-GB`
    finds `en-US`); then `und`; then the map's first entry, since the LRS must still return
    one language.
    """
    if not language_map:
        return None
    tags = {tag.lower(): tag for tag in language_map}
    ranges = [r.lower() for r in languages]
    return (
        _filtering_match(tags, ranges)
        or _lookup_match(tags, ranges)
        or _primary_match(tags, ranges)
        or tags.get("und")
        or next(iter(language_map))
    )


def _filtering_match(tags: Mapping[str, str], ranges: Sequence[str]) -> str | None:
    for wanted in ranges:
        if wanted == "*":
            return next(iter(tags.values()))
        if wanted in tags:
            return tags[wanted]
        prefix = wanted + "-"
        for lowered, tag in tags.items():
            if lowered.startswith(prefix):
                return tag
    return None


def _lookup_match(tags: Mapping[str, str], ranges: Sequence[str]) -> str | None:
    for wanted in ranges:
        while "-" in wanted:
            wanted = wanted.rsplit("-", 1)[0]
            if wanted in tags:
                return tags[wanted]
    return None


def _primary_match(tags: Mapping[str, str], ranges: Sequence[str]) -> str | None:
    for wanted in ranges:
        primary = wanted.split("-", 1)[0] + "-"
        for lowered, tag in tags.items():
            if lowered.startswith(primary):
                return tag
    return None
