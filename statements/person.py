"""The Person object of the Agents Resource (1.0.3 Communication 2.4, 2.0 4.1.6.3).

The LRS has no directory service, so a Person combines what it has seen for the one Agent
asked about: the requested Agent's own identifier and name, plus every name that Agent
(matched by its Inverse Functional Identifier, as everywhere else) carried in stored
statements. Without anything stored it is the requested Agent alone, as both versions
require. Each property is an array and appears once; no property beyond the table's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from statements.index import agent_key

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def person_of(agent: dict[str, Any], statements: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`agent` is a validated Agent; `statements` those the agent filter matched, newest first."""
    key = agent_key(agent)
    names = dict.fromkeys(_names([agent]))
    for statement in statements:
        names.update(dict.fromkeys(_names(_matching(statement, key))))
    person: dict[str, Any] = {"objectType": "Person"}
    if names:
        person["name"] = list(names)
    for ifi in IFI_PROPERTIES:
        if ifi in agent:
            person[ifi] = [agent[ifi]]
    return person


def _names(agents: Iterable[dict[str, Any]]) -> Iterator[str]:
    for agent in agents:
        name = agent.get("name")
        if isinstance(name, str):
            yield name


def _matching(statement: dict[str, Any], key: str | None) -> Iterator[dict[str, Any]]:
    """The agents in the places the `agent` filter looks (actor, object, Group members)."""
    for candidate in (statement.get("actor"), statement.get("object")):
        if not isinstance(candidate, dict):
            continue
        members = candidate.get("member")
        for agent in [candidate, *(members if isinstance(members, list) else [])]:
            if isinstance(agent, dict) and agent_key(agent) == key:
                yield agent
