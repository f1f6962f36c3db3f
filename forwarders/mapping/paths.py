"""Source paths of a mapping template: parsed and checked against what exists, then resolved.

A source path is a root followed by keys: `statement.result.score.scaled`. A key that holds
dots (an xAPI extension IRI) is written in brackets:
`statement.result.extensions[https://example.com/ext/certificate]`. The roots:

- `event`: the forwarding event (`forwarders.events.Event.as_dict()`)
- `statement`: the statement as stored
- `person`: the resolved person (`forwarders.identity.person.Person.as_dict()`)
- `activity`: the statement's object (an Activity, with its `definition`)
- `verb`: the statement's verb
- `result`: the statement's result

Paths are checked at load against the shape of each root (`SHAPES`), so a typo such as
`statement.result.scroe` is refused when the template is loaded, not discovered as a silent
null in production. Below an extension key, inside `attachments`, `member` or
`context.statement`, any key is accepted: their content is not ours to know.

A path that ends at a language map (`activity.definition.name`, `verb.display`) resolves to
its English text (`en-US`, `en`, `en-GB`), else its first entry; a path through a list
(`person.emails`, `statement.context.contextActivities.parent.id`) resolves to the list of
values found in each element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Shape:
    """A marker: what a node of the shape tree holds when it is not a dict of fields."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


LEAF = Shape("LEAF")
ANY = Shape("ANY")
LANGUAGE_MAP = Shape("LANGUAGE_MAP")
EXTENSIONS = Shape("EXTENSIONS")
Node = Shape | Mapping[str, "Node"]


def _leaves(*names: str) -> dict[str, Node]:
    return dict.fromkeys(names, LEAF)


ACCOUNT: Node = _leaves("homePage", "name")
AGENT: Node = {
    **_leaves("objectType", "name", "mbox", "mbox_sha1sum", "openid"),
    "account": ACCOUNT,
    "member": ANY,
}
DEFINITION: Node = {
    "name": LANGUAGE_MAP,
    "description": LANGUAGE_MAP,
    **_leaves("type", "moreInfo", "interactionType", "correctResponsesPattern"),
    "extensions": EXTENSIONS,
    **dict.fromkeys(("choices", "scale", "source", "target", "steps"), ANY),
}
ACTIVITY: Node = {**_leaves("objectType", "id"), "definition": DEFINITION}
VERB: Node = {"id": LEAF, "display": LANGUAGE_MAP}
RESULT: Node = {
    "score": _leaves("scaled", "raw", "min", "max"),
    **_leaves("success", "completion", "response", "duration"),
    "extensions": EXTENSIONS,
}
CONTEXT: Node = {
    **_leaves("registration", "revision", "platform", "language"),
    "instructor": AGENT,
    "team": AGENT,
    "contextActivities": dict.fromkeys(("parent", "grouping", "category", "other"), ACTIVITY),
    "statement": ANY,
    "extensions": EXTENSIONS,
}
STATEMENT: Node = {
    **_leaves("id", "timestamp", "stored", "version"),
    "actor": AGENT,
    "verb": VERB,
    "object": ACTIVITY,
    "result": RESULT,
    "context": CONTEXT,
    "authority": AGENT,
    "attachments": ANY,
}
EVENT: Node = {
    **_leaves("id", "type", "forwarder_id", "statement_id", "timestamp", "registration"),
    **_leaves("revokes", "voiding_statement_id"),
    "learner": {
        **_leaves("mbox", "mbox_sha1sum", "openid", "name", "object_type", "key"),
        "account": ACCOUNT,
    },
    "activity": _leaves("id", "name", "type"),
    "verb": _leaves("id", "name"),
    "result": _leaves("success", "completion", "score", "duration"),
}
PERSON: Node = {
    **_leaves("employee_id", "email", "emails", "manager_id", "department", "job_code"),
    "status": LEAF,
    "accounts": _leaves("home_page", "name"),
}
SHAPES: Mapping[str, Node] = {
    "event": EVENT,
    "statement": STATEMENT,
    "person": PERSON,
    "activity": ACTIVITY,
    "verb": VERB,
    "result": RESULT,
}
ROOTS = tuple(SHAPES)
MAX_PATH = 1000
_NAME = re.compile(r"[^.\[\]]+")


class PathError(ValueError):
    """A source path that is malformed or names something that does not exist."""


@dataclass(frozen=True, slots=True)
class SourcePath:
    text: str
    root: str
    keys: tuple[str, ...]
    language_map: bool = False
    """The path ends at a language map: it resolves to the map's text."""


def split_path(text: str) -> list[str]:
    """`a.b[c.d].e` -> ["a", "b", "c.d", "e"]; raises PathError when malformed."""
    keys: list[str] = []
    position = 0
    while position < len(text):
        if text[position] == "[":
            end = text.find("]", position)
            if end <= position + 1:
                raise PathError("a bracket key must be closed and not empty: [key]")
            keys.append(text[position + 1 : end])
            position = end + 1
        else:
            match = _NAME.match(text, position)
            if match is None:
                raise PathError(f"empty key at character {position + 1}")
            keys.append(match.group())
            position = match.end()
        if position < len(text) and text[position] == ".":
            position += 1
            if position == len(text):
                raise PathError("a path cannot end with a dot")
        elif position < len(text) and text[position] != "[":
            raise PathError(f"unexpected {text[position]!r} at character {position + 1}")
    return keys


def parse_path(text: str) -> SourcePath:
    if not text or len(text) > MAX_PATH:
        raise PathError(f"must be a path of 1 to {MAX_PATH} characters")
    root, *keys = split_path(text)
    if root not in SHAPES:
        raise PathError(f"unknown root {root!r} (roots: {', '.join(ROOTS)})")
    node = SHAPES[root]
    for depth, key in enumerate(keys):
        where = ".".join([root, *keys[:depth]])
        if node is ANY:
            break
        if node is LEAF:
            raise PathError(f"{where} has no field {key!r}")
        if node is LANGUAGE_MAP:
            node = LEAF
        elif node is EXTENSIONS:
            node = ANY
        elif isinstance(node, Mapping):
            if key not in node:
                raise PathError(f"unknown field {key!r} in {where}")
            node = node[key]
    return SourcePath(text, root, tuple(keys), language_map=node is LANGUAGE_MAP)


def language_text(value: Any) -> Any:
    """The English entry of a language map when there is one, else its first entry."""
    if not isinstance(value, Mapping):
        return value
    for tag in ("en-US", "en", "en-GB"):
        if isinstance(value.get(tag), str):
            return value[tag]
    return next((v for v in value.values() if isinstance(v, str)), None)


def _walk(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, list) and keys:
        found = [_walk(item, keys) for item in value]
        return [v for item in found for v in (item if isinstance(item, list) else [item])]
    if not keys:
        return value
    if isinstance(value, Mapping):
        return _walk(value.get(keys[0]), keys[1:])
    return None


def resolve(path: SourcePath, roots: Mapping[str, Any]) -> Any:
    """The value at `path` (a list when the path crosses a list), None when absent."""
    value = _walk(roots.get(path.root), path.keys)
    if path.language_map:
        return (
            [language_text(v) for v in value] if isinstance(value, list) else language_text(value)
        )
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return value
