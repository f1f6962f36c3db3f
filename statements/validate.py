"""Statement validation, the gate at the door: every rule of the data model, both versions.

xAPI 1.0.3 Data 2.2-2.4, 2.6 and 4.0 (conformance XAPI-00001..00124 as far as they concern
statement data); xAPI 2.0 Base Standard 4.2.1-4.2.7, which adds `contextAgents` and
`contextGroups` and accepts `2.0.x` versions. `StatementValidator(version).validate(obj)`
raises `InvalidStatement` with every violation found; each carries a JSON pointer, a rule id
and a message. The rule functions live in `statements.validate_rules`.

Rule ids: `type.<json type>`, `property.null|unknown|required`, `format.<format>` (iri, irl,
uri, mailto, uuid, sha1, sha2, mime_type, timestamp, duration, language_tag), `statement.type`,
`statement.version`, `actor.object_type`, `agent.exactly_one_ifi`, `group.exactly_one_ifi`,
`group.anonymous_requires_member`, `group.member_not_agent`, `group.identified_required`,
`object.object_type`, `object.object_type_required`, `activity.object_type`,
`interaction.type`, `interaction.type_required`, `interaction.component_list`,
`interaction.component_id_unique`, `substatement.forbidden_property`, `substatement.nested`,
`statement_ref.object_type`, `score.scaled_range`, `score.min_max`, `score.raw_range`,
`context.revision_requires_activity`, `context.platform_requires_activity`,
`context.team_not_group`, `context_activities.value`, `context_agent.object_type`,
`context_agent.not_agent`, `context_group.object_type`, `context_group.not_group`,
`context.relevant_types_empty`, `authority.group_identified`, `authority.group_members`,
`attachment.length`, `signature.content_type`, `extensions.key`, `voiding.object_not_statement_ref`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from statements.errors import InvalidStatement, Violation
from statements.formats import is_statement_version
from statements.types import SpecVersion
from statements.validate_rules import (
    IFI_SET,
    IRI,
    LANGUAGE,
    NOTHING,
    TIMESTAMP,
    UUID,
    Errors,
    check_activity,
    check_activity_object,
    check_actor,
    check_agent,
    check_attachments,
    check_extensions,
    check_format,
    check_group,
    check_keys,
    check_object_type,
    check_result,
    check_statement_ref,
    check_string,
    check_verb,
    report_missing,
    report_unknown,
    wrong_type,
)

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
MAX_VIOLATIONS = 100
"""At most this many violations are reported (bounded error bodies); a batch stops there."""

CORE_KEYS = frozenset({"actor", "verb", "object", "result", "context", "timestamp", "attachments"})
STATEMENT_KEYS = CORE_KEYS | {"id", "stored", "authority", "version"}
SUBSTATEMENT_KEYS = CORE_KEYS | {"objectType"}
REQUIRED_KEYS = frozenset({"actor", "verb", "object"})
FORBIDDEN_IN_SUBSTATEMENT = dict.fromkeys(
    ("id", "stored", "version", "authority"), "substatement.forbidden_property"
)
CONTEXT_KEYS_1_0 = frozenset(
    {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    }
)
CONTEXT_KEYS_2_0 = CONTEXT_KEYS_1_0 | {"contextAgents", "contextGroups"}
CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
CONTEXT_PEOPLE = frozenset({"instructor", "team", "contextAgents", "contextGroups"})
NON_ACTIVITY_TYPES = ("Agent", "Group", "StatementRef", "SubStatement")
NOT_ACTIVITY_KEYS = IFI_SET | {"member", "actor", "verb", "object"}


@dataclass(frozen=True, slots=True)
class _Relation:
    """contextAgent or contextGroup (2.0 4.2.2.5): how one entry of the array is checked."""

    object_type: str
    member: str
    keys: frozenset[str]
    actor_type: str
    rule_prefix: str

    @property
    def required(self) -> frozenset[str]:
        return frozenset({"objectType", self.member})


_AGENT_RELATION = _Relation(
    "contextAgent",
    "agent",
    frozenset({"objectType", "agent", "relevantTypes"}),
    "Agent",
    "context_agent",
)
_GROUP_RELATION = _Relation(
    "contextGroup",
    "group",
    frozenset({"objectType", "group", "relevantTypes"}),
    "Group",
    "context_group",
)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What differs between the two versions of the data model."""

    version: SpecVersion
    context_keys: frozenset[str]


class StatementValidator:
    """Validates statements as a client sends them, for one version of the spec."""

    def __init__(self, version: SpecVersion) -> None:
        if version not in ("1.0.3", "2.0.0"):
            raise ValueError(f"unsupported xAPI version {version!r}")
        keys = CONTEXT_KEYS_2_0 if version == "2.0.0" else CONTEXT_KEYS_1_0
        self._profile = _Profile(version, keys)

    @property
    def version(self) -> SpecVersion:
        return self._profile.version

    def validate(self, statement: object) -> None:
        """Raise `InvalidStatement` with every violation of `statement`, if it has any."""
        errs: Errors = []
        check_statement(statement, "", errs, self._profile)
        if errs:
            raise InvalidStatement(errs[:MAX_VIOLATIONS])

    def validate_batch(self, statements: Sequence[object]) -> None:
        """Validate every statement of a batch; violation paths start with `/<index>`."""
        errs: Errors = []
        for index, statement in enumerate(statements):
            check_statement(statement, f"/{index}", errs, self._profile)
            if len(errs) >= MAX_VIOLATIONS:
                break
        if errs:
            raise InvalidStatement(errs[:MAX_VIOLATIONS])


def validate_agent(obj: object, version: SpecVersion, path: str = "") -> list[Violation]:
    """Violations of an Agent or identified Group used as a parameter (`agent=`, documents).

    An anonymous Group identifies nobody, so it is refused here. `version` is accepted for
    symmetry: Agents are the same in 1.0.3 and 2.0.
    """
    errs: Errors = []
    if type(obj) is dict and obj.get("objectType") == "Group" and IFI_SET.isdisjoint(obj):
        message = (
            "must be an Agent or an identified Group (with mbox, mbox_sha1sum, openid or account)"
        )
        errs.append(Violation(path, "group.identified_required", message))
        return errs
    check_actor(obj, path, errs)
    return errs


def validate_activity_id(value: object) -> list[Violation]:
    """Violations of an `activityId` parameter, which must be an IRI."""
    errs: Errors = []
    check_format(value, "", errs, IRI)
    return errs


# Statements and SubStatements (1.0.3 Data 2.4, 2.4.4.3; 2.0 4.2.2) -----------------------


def check_statement(value: object, path: str, errs: Errors, profile: _Profile) -> None:
    if type(value) is not dict:
        kind = "null" if value is None else type(value).__name__
        errs.append(
            Violation(path, "statement.type", f"a statement must be a JSON object, not {kind}")
        )
        return
    check_keys(value, STATEMENT_KEYS, REQUIRED_KEYS, path, errs)
    if "id" in value:
        check_format(value["id"], path + "/id", errs, UUID)
    check_core(value, path, errs, profile, nested=False)
    if "stored" in value:
        check_format(value["stored"], path + "/stored", errs, TIMESTAMP)
    if "authority" in value:
        check_authority(value["authority"], path + "/authority", errs)
    if "version" in value:
        check_version(value["version"], path + "/version", errs, profile)


def check_substatement(obj: dict[str, Any], path: str, errs: Errors, profile: _Profile) -> None:
    """Validated as a Statement, without id, stored, version or authority (XAPI-00066..70)."""
    if not obj.keys() <= SUBSTATEMENT_KEYS:
        report_unknown(obj, SUBSTATEMENT_KEYS, path, errs, FORBIDDEN_IN_SUBSTATEMENT)
    if not obj.keys() >= REQUIRED_KEYS:
        report_missing(obj, REQUIRED_KEYS, path, errs)
    check_core(obj, path, errs, profile, nested=True)


def check_core(
    obj: dict[str, Any], path: str, errs: Errors, profile: _Profile, nested: bool
) -> None:
    """The properties Statements and SubStatements share."""
    if "actor" in obj:
        check_actor(obj["actor"], path + "/actor", errs)
    verb = obj.get("verb")
    if "verb" in obj:
        check_verb(verb, path + "/verb", errs)
    target = obj.get("object")
    if "object" in obj:
        check_object(target, path + "/object", errs, profile, nested)
    if "result" in obj:
        check_result(obj["result"], path + "/result", errs)
    if "context" in obj:
        check_context(obj["context"], path + "/context", errs, profile, _is_activity(target))
    if "timestamp" in obj:
        check_format(obj["timestamp"], path + "/timestamp", errs, TIMESTAMP)
    if "attachments" in obj:
        check_attachments(obj["attachments"], path + "/attachments", errs)
    if type(verb) is dict and verb.get("id") == VOIDED and "object" in obj:
        check_voiding(target, path + "/object", errs)


def check_object(value: object, path: str, errs: Errors, profile: _Profile, nested: bool) -> None:
    """Dispatch on objectType; absent means Activity (1.0.3 Data 2.4.4, 2.0 4.2.2.3)."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    kind = value.get("objectType")
    if kind is None or kind == "Activity":
        check_object_activity(value, path, errs)
    elif kind == "Agent":
        check_agent(value, path, errs)
    elif kind == "Group":
        check_group(value, path, errs)
    elif kind == "StatementRef":
        check_statement_ref(value, path, errs)
    elif kind == "SubStatement" and not nested:
        check_substatement(value, path, errs, profile)
    elif kind == "SubStatement":
        message = "a SubStatement cannot contain another SubStatement"
        errs.append(Violation(path + "/objectType", "substatement.nested", message))
    else:
        allowed = '"Activity", "Agent", "Group", "StatementRef" or "SubStatement"'
        check_object_type(kind, path + "/objectType", errs, "object.object_type", allowed)


def check_object_activity(obj: dict[str, Any], path: str, errs: Errors) -> None:
    if "objectType" not in obj and not NOT_ACTIVITY_KEYS.isdisjoint(obj):
        message = "an Agent, Group, StatementRef or SubStatement object must state its objectType"
        errs.append(Violation(path + "/objectType", "object.object_type_required", message))
    elif obj.get("objectType", "Activity") is None:
        wrong_type(errs, path + "/objectType", None, "string")
    else:
        check_activity(obj, path, errs)


def _is_activity(target: object) -> bool:
    """False only for an object known to be something else (an invalid one is reported apart)."""
    return type(target) is not dict or target.get("objectType") not in NON_ACTIVITY_TYPES


def check_voiding(target: object, path: str, errs: Errors) -> None:
    """A voiding statement's object must be a StatementRef (1.0.3 Data 2.3.2, XAPI-00017)."""
    if type(target) is dict and target.get("objectType") == "StatementRef":
        return
    message = 'a statement with the verb "voided" must have a StatementRef object'
    errs.append(Violation(path, "voiding.object_not_statement_ref", message))


def check_authority(value: object, path: str, errs: Errors) -> None:
    """An Agent, or an anonymous Group of two Agents (3-legged OAuth; XAPI-00098, 00100)."""
    check_actor(value, path, errs)
    if type(value) is not dict or value.get("objectType") != "Group":
        return
    if not IFI_SET.isdisjoint(value):
        message = "an authority Group must be anonymous (an OAuth consumer and a user)"
        errs.append(Violation(path, "authority.group_identified", message))
    members = value.get("member")
    if type(members) is list and len(members) != 2:
        message = f"an authority Group must have exactly two members, has {len(members)}"
        errs.append(Violation(path + "/member", "authority.group_members", message))


def check_version(value: object, path: str, errs: Errors, profile: _Profile) -> None:
    if type(value) is not str:
        wrong_type(errs, path, value, "string")
    elif not is_statement_version(value, profile.version):
        accepted = "1.0 or 1.0.x" if profile.version == "1.0.3" else "1.0.x or 2.0.x"
        message = f"must be {accepted} for an xAPI {profile.version} statement, got {value!r:.40}"
        errs.append(Violation(path, "statement.version", message))


# Context (1.0.3 Data 2.4.6, 2.0 4.2.2.5) --------------------------------------------------


def check_context(
    value: object, path: str, errs: Errors, profile: _Profile, activity_object: bool
) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, profile.context_keys, NOTHING, path, errs)
    if "registration" in value:
        check_format(value["registration"], path + "/registration", errs, UUID)
    if "contextActivities" in value:
        check_context_activities(value["contextActivities"], path + "/contextActivities", errs)
    for key in ("revision", "platform"):
        if key in value:
            check_string(value[key], f"{path}/{key}", errs)
            if not activity_object:
                message = f"context {key} may only be used when the object is an Activity"
                errs.append(Violation(f"{path}/{key}", f"context.{key}_requires_activity", message))
    if "language" in value:
        check_format(value["language"], path + "/language", errs, LANGUAGE)
    if "statement" in value:
        check_context_statement(value["statement"], path + "/statement", errs)
    if "extensions" in value:
        check_extensions(value["extensions"], path + "/extensions", errs)
    if not CONTEXT_PEOPLE.isdisjoint(value):
        check_context_people(value, path, errs, profile.context_keys)


def check_context_statement(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
    elif "objectType" not in value:
        message = 'a Statement Reference must have objectType "StatementRef"'
        errs.append(Violation(path + "/objectType", "property.required", message))
    elif value["objectType"] != "StatementRef":
        kind = value["objectType"]
        rule = "statement_ref.object_type"
        check_object_type(kind, path + "/objectType", errs, rule, '"StatementRef"')
    else:
        check_statement_ref(value, path, errs)


def check_context_people(
    obj: dict[str, Any], path: str, errs: Errors, allowed: frozenset[str]
) -> None:
    """instructor (Agent or Group), team (Group), contextAgents and contextGroups (2.0 only)."""
    if "instructor" in obj:
        check_actor(obj["instructor"], path + "/instructor", errs)
    if "team" in obj:
        team = obj["team"]
        check_actor(team, path + "/team", errs)
        if type(team) is dict and team.get("objectType") != "Group":
            message = 'context team must be a Group (objectType "Group")'
            errs.append(Violation(path + "/team", "context.team_not_group", message))
    for key, relation in (("contextAgents", _AGENT_RELATION), ("contextGroups", _GROUP_RELATION)):
        if key in obj and key in allowed:
            check_context_relations(obj[key], f"{path}/{key}", errs, relation)


def check_context_activities(value: object, path: str, errs: Errors) -> None:
    """Keys parent/grouping/category/other; each an Activity or an array of Activities."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, CONTEXT_ACTIVITY_KEYS, NOTHING, path, errs)
    for key, activities in value.items():
        if key not in CONTEXT_ACTIVITY_KEYS:
            continue
        where = path + "/" + key
        if type(activities) is list:
            for index, activity in enumerate(activities):
                check_activity_object(activity, f"{where}/{index}", errs)
        elif type(activities) is dict:
            check_activity_object(activities, where, errs)
        elif activities is None:
            wrong_type(errs, where, None, "object")
        else:
            message = "must be an Activity or an array of Activities"
            errs.append(Violation(where, "context_activities.value", message))


def check_context_relations(value: object, path: str, errs: Errors, relation: _Relation) -> None:
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    for index, item in enumerate(value):
        check_context_relation(item, f"{path}/{index}", errs, relation)


def check_context_relation(value: object, path: str, errs: Errors, relation: _Relation) -> None:
    """One contextAgent/contextGroup object (2.0 4.2.2.5)."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, relation.keys, relation.required, path, errs)
    if "objectType" in value and value["objectType"] != relation.object_type:
        rule = relation.rule_prefix + ".object_type"
        allowed = f'"{relation.object_type}"'
        check_object_type(value["objectType"], path + "/objectType", errs, rule, allowed)
    if relation.member in value:
        check_related_actor(value[relation.member], f"{path}/{relation.member}", errs, relation)
    if "relevantTypes" in value:
        check_relevant_types(value["relevantTypes"], path + "/relevantTypes", errs)


def check_related_actor(value: object, path: str, errs: Errors, relation: _Relation) -> None:
    """The `agent` of a contextAgent must be an Agent, the `group` of a contextGroup a Group."""
    check_actor(value, path, errs)
    if type(value) is not dict:
        return
    kind = value.get("objectType", "Agent")
    if kind in ("Agent", "Group") and kind != relation.actor_type:
        message = f"must be {'an Agent' if relation.actor_type == 'Agent' else 'a Group'}"
        rule = f"{relation.rule_prefix}.not_{relation.member}"
        errs.append(Violation(path, rule, message))


def check_relevant_types(value: object, path: str, errs: Errors) -> None:
    """One or more IRIs when present (the 2.0 conformance suite rejects an empty array)."""
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    if not value:
        message = "relevantTypes, when present, must hold at least one IRI"
        errs.append(Violation(path, "context.relevant_types_empty", message))
    for index, item in enumerate(value):
        check_format(item, f"{path}/{index}", errs, IRI)
