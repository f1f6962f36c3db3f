"""The derived, indexed fields of a statement (xAPI 1.0.3 Communication 2.1.3, 2.0 4.1.6.1).

`derive_index` answers, once at write time, every question the GET /statements filters ask:
which agents are the actor or object (`agent`), which agents appear anywhere the
`related_agents` parameter reaches, the object activity (`activity`) and every activity the
`related_activities` parameter reaches, the verb, the registration, and which statement a
voiding statement voids.

Agents are keyed by their Inverse Functional Identifier only (`agent_key`): "Agents or
Identified Groups are equal when the same Inverse Functional Identifier is used in each
Object compared and those Inverse Functional Identifiers have equal values", so an Agent
and an identified Group with the same IFI share a key, and `objectType` plays no part.
"Groups that have members which match the specified Agent [...] are considered a match", so
the members of every Group we index are indexed beside the Group itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from statements.types import Statement, StatementIndex

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")

_Keys = dict[str, None]
"""An insertion-ordered set: deduplicates while keeping a deterministic order."""


def agent_key(agent: Mapping[str, Any]) -> str | None:
    """The IFI key of an Agent or identified Group, `None` for an anonymous Group.

    The domain of an e-mail address is case-insensitive (1.0.3 Data 2.4.2.3, "The domain
    portions of email addresses are case insensitive"), so it is lowercased, as is the
    `mailto:` scheme; the local part stays as sent (RFC 5321 leaves it case-sensitive and the
    spec does not say otherwise). `mbox_sha1sum` is hex, so its case carries no meaning.
    """
    mbox = agent.get("mbox")
    if isinstance(mbox, str):
        return "mbox::" + normalize_mbox(mbox)
    sha1 = agent.get("mbox_sha1sum")
    if isinstance(sha1, str):
        return "mbox_sha1sum::" + sha1.lower()
    openid = agent.get("openid")
    if isinstance(openid, str):
        return "openid::" + openid
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account::{account.get('homePage')}::{account.get('name')}"
    return None


def normalize_mbox(mbox: str) -> str:
    """`mailto:Local@Example.COM` -> `mailto:Local@example.com` (scheme and domain only)."""
    scheme, colon, address = mbox.partition(":")
    if not colon:
        return mbox
    local, at, domain = address.rpartition("@")
    if not at:
        return scheme.lower() + ":" + address
    return f"{scheme.lower()}:{local}@{domain.lower()}"


def statement_ref_target(statement: Statement) -> str | None:
    """The (lowercased) id of the statement this one targets through a StatementRef object.

    Voiding or not: the "Filter Conditions for StatementRefs" apply to every targeting
    statement, and voiding statements are found through the same reference.
    """
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "StatementRef":
        target = obj.get("id")
        if isinstance(target, str):
            return target.lower()
    return None


def derive_index(statement: Statement) -> StatementIndex:
    """Every filter value of one statement, deduplicated, in a deterministic order."""
    obj = _mapping(statement.get("object"))
    object_type = obj.get("objectType", "Activity")
    context = _mapping(statement.get("context"))
    verb_id = _mapping(statement.get("verb")).get("id")

    agents: _Keys = {}
    _add_agent(agents, statement.get("actor"))
    activities: _Keys = {}
    _add_object(agents, activities, obj, object_type)

    related_agents = dict(agents)
    _add_agent(related_agents, statement.get("authority"))
    _add_context_agents(related_agents, context)
    related_activities = dict(activities)
    _add_context_activities(related_activities, context)
    if object_type == "SubStatement":
        _add_sub_statement(related_agents, related_activities, obj)

    registration = context.get("registration")
    voids = statement_ref_target(statement) if verb_id == VOIDED else None
    return StatementIndex(
        verbs=(verb_id,) if isinstance(verb_id, str) else (),
        agents=tuple(agents),
        related_agents=tuple(related_agents),
        activities=tuple(activities),
        related_activities=tuple(related_activities),
        registrations=(registration.lower(),) if isinstance(registration, str) else (),
        voids=voids,
    )


def merge_targeted(own: StatementIndex, target: StatementIndex) -> StatementIndex:
    """The index of a statement whose object is a StatementRef to `target`.

    Communication 2.1.3 "Filter Conditions for StatementRefs": for every filter that is not
    time or sequence based, a targeting statement "will meet the filter condition if the
    targeted Statement meets the filter condition", recursively. So the filter values of the
    target are unioned into the targeting statement's; the storage layer passes the target's
    already-merged index, which makes the rule recursive. `voids` stays the statement's own:
    targeting a voiding statement does not make a statement voiding.
    """
    return StatementIndex(
        verbs=_union(own.verbs, target.verbs),
        agents=_union(own.agents, target.agents),
        related_agents=_union(own.related_agents, target.related_agents),
        activities=_union(own.activities, target.activities),
        related_activities=_union(own.related_activities, target.related_activities),
        registrations=_union(own.registrations, target.registrations),
        voids=own.voids,
    )


def _union(own: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    if not other:
        return own
    return tuple(dict.fromkeys(own + other))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _add_agent(keys: _Keys, agent: Any) -> None:
    """The Agent or Group's own key, then its members' (a Group matches its members)."""
    if not isinstance(agent, dict):
        return
    key = agent_key(agent)
    if key is not None:
        keys[key] = None
    members = agent.get("member")
    if isinstance(members, list):
        for member in members:
            if isinstance(member, dict):
                member_key = agent_key(member)
                if member_key is not None:
                    keys[member_key] = None


def _add_object(agents: _Keys, activities: _Keys, obj: Mapping[str, Any], kind: Any) -> None:
    if kind == "Activity":
        activity_id = obj.get("id")
        if isinstance(activity_id, str):
            activities[activity_id] = None
    elif kind in ("Agent", "Group"):
        _add_agent(agents, obj)


def _add_context_agents(keys: _Keys, context: Mapping[str, Any]) -> None:
    """Instructor, team, and the 2.0 contextAgents / contextGroups (2.0 4.1.6.1 table)."""
    _add_agent(keys, context.get("instructor"))
    _add_agent(keys, context.get("team"))
    for entry in _list(context.get("contextAgents")):
        if isinstance(entry, dict):
            _add_agent(keys, entry.get("agent"))
    for entry in _list(context.get("contextGroups")):
        if isinstance(entry, dict):
            _add_agent(keys, entry.get("group"))


def _add_context_activities(keys: _Keys, context: Mapping[str, Any]) -> None:
    """Every contextActivities id; a single Activity object counts as a list of one."""
    context_activities = _mapping(context.get("contextActivities"))
    for kind in CONTEXT_ACTIVITY_KINDS:
        value = context_activities.get(kind)
        for activity in [value] if isinstance(value, dict) else _list(value):
            if isinstance(activity, dict):
                activity_id = activity.get("id")
                if isinstance(activity_id, str):
                    keys[activity_id] = None


def _add_sub_statement(agents: _Keys, activities: _Keys, sub: Mapping[str, Any]) -> None:
    """The `related_*` parameters reach "any of these properties in a contained SubStatement"."""
    _add_agent(agents, sub.get("actor"))
    sub_object = _mapping(sub.get("object"))
    _add_object(agents, activities, sub_object, sub_object.get("objectType", "Activity"))
    sub_context = _mapping(sub.get("context"))
    _add_context_agents(agents, sub_context)
    _add_context_activities(activities, sub_context)


def _list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else ()
