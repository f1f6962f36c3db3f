"""The rule functions behind `statements.validate`: one per part of a statement.

xAPI 1.0.3 Data 2.2-2.4 and 4.0; xAPI 2.0 Base Standard 4.2.1-4.2.2 and 4.2.7. Every function
takes the JSON value, its JSON pointer and the list it appends `Violation`s to; none raises.
Rule ids are `family.rule`; `statements.validate` lists them all.

The functions are written for speed (the LRS validates every statement it ingests): exact
`type()` checks, frozenset key checks done in C, and paths built only where needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from statements.errors import Violation
from statements.formats import (
    is_duration,
    is_iri,
    is_irl,
    is_language_tag,
    is_mailto_iri,
    is_mime_type,
    is_sha1_hex,
    is_sha2_hex,
    is_uri,
    is_uuid,
    parse_timestamp,
)

Errors = list[Violation]


class Format(NamedTuple):
    """A string format: its rule id, its checker and how a message names it."""

    rule: str
    test: Callable[[str], bool]
    expected: str


def _is_timestamp(value: str) -> bool:
    return parse_timestamp(value) is not None


IRI = Format("format.iri", is_iri, "an absolute IRI (with a scheme)")
IRL = Format("format.irl", is_irl, "an IRL (scheme://...)")
URI = Format("format.uri", is_uri, "an absolute URI")
MAILTO = Format("format.mailto", is_mailto_iri, 'a "mailto:" IRI with an email address')
UUID = Format("format.uuid", is_uuid, "a UUID in standard string form")
SHA1 = Format("format.sha1", is_sha1_hex, "40 hexadecimal digits (a SHA-1)")
SHA2 = Format("format.sha2", is_sha2_hex, "the hexadecimal digest of a SHA-2 hash")
MIME = Format("format.mime_type", is_mime_type, "an Internet media type")
TIMESTAMP = Format("format.timestamp", _is_timestamp, "an ISO 8601 timestamp")
DURATION = Format("format.duration", is_duration, "an ISO 8601 duration (PnYnMnDTnHnMnS)")
LANGUAGE = Format("format.language_tag", is_language_tag, "an RFC 5646 language tag")

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
IFI_SET = frozenset(IFIS)
AGENT_KEYS = frozenset({"objectType", "name", *IFIS})
GROUP_KEYS = AGENT_KEYS | {"member"}
ACCOUNT_KEYS = frozenset({"homePage", "name"})
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
INTERACTION_LISTS = ("choices", "scale", "source", "target", "steps")
INTERACTION_KEYS = frozenset({"interactionType", "correctResponsesPattern", *INTERACTION_LISTS})
DEFINITION_KEYS = INTERACTION_KEYS | {"name", "description", "type", "moreInfo", "extensions"}
COMPONENT_KEYS = frozenset({"id", "description"})
INTERACTION_TYPES: Mapping[str, tuple[str, ...]] = {
    "true-false": (),
    "choice": ("choices",),
    "fill-in": (),
    "long-fill-in": (),
    "matching": ("source", "target"),
    "performance": ("steps",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "numeric": (),
    "other": (),
}
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
ATTACHMENT_KEYS = frozenset(
    {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
)
ATTACHMENT_REQUIRED = frozenset({"usageType", "display", "contentType", "length", "sha2"})
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
STATEMENT_REF_KEYS = frozenset({"objectType", "id"})
ID_ONLY = frozenset({"id"})
NOTHING: frozenset[str] = frozenset()

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
_EXPECTED = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "boolean": "a boolean",
    "number": "a number",
    "integer": "an integer",
}


# Generic helpers ---------------------------------------------------------------------------


def pointer(key: object) -> str:
    """One JSON-pointer step (RFC 6901): `~` and `/` escaped, as extension IRIs need."""
    return "/" + str(key).replace("~", "~0").replace("/", "~1")


def json_type(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def wrong_type(errs: Errors, path: str, value: object, expected: str) -> None:
    """A value of the wrong JSON type; null gets its own rule (1.0.3 Data 2.2, XAPI-00001)."""
    if value is None:
        errs.append(Violation(path, "property.null", "null is not allowed here"))
    else:
        message = f"must be {_EXPECTED[expected]}, not {json_type(value)}"
        errs.append(Violation(path, f"type.{expected}", message))


def check_keys(
    obj: dict[str, Any], allowed: frozenset[str], required: frozenset[str], path: str, errs: Errors
) -> None:
    """Only `allowed` keys (case-sensitive), and every `required` one."""
    keys = obj.keys()
    if not keys <= allowed:
        report_unknown(obj, allowed, path, errs)
    if required and not keys >= required:
        report_missing(obj, required, path, errs)


def report_missing(obj: dict[str, Any], required: frozenset[str], path: str, errs: Errors) -> None:
    for key in sorted(required - obj.keys()):
        errs.append(Violation(path + pointer(key), "property.required", f"{key!r} is required"))


def report_unknown(
    obj: dict[str, Any],
    allowed: frozenset[str],
    path: str,
    errs: Errors,
    special: Mapping[str, str] | None = None,
) -> None:
    """One violation per key that is not allowed; `special` maps some keys to their own rule."""
    for key in obj:
        if key in allowed:
            continue
        if special is not None and key in special:
            errs.append(
                Violation(path + pointer(key), special[key], f"{key!r} is not allowed here")
            )
            continue
        errs.append(
            Violation(path + pointer(key), "property.unknown", _unknown_message(key, allowed))
        )


def _unknown_message(key: object, allowed: frozenset[str]) -> str:
    folded = str(key).lower()
    same = [name for name in sorted(allowed) if name.lower() == folded]
    hint = f" (keys are case-sensitive: did you mean {same[0]!r}?)" if same else ""
    return f"{key!r} is not allowed here{hint}"


def check_format(value: object, path: str, errs: Errors, fmt: Format) -> None:
    if type(value) is not str:
        wrong_type(errs, path, value, "string")
    elif not fmt.test(value):
        errs.append(Violation(path, fmt.rule, f"must be {fmt.expected}, got {value!r:.100}"))


def check_string(value: object, path: str, errs: Errors) -> None:
    if type(value) is not str:
        wrong_type(errs, path, value, "string")


def check_boolean(value: object, path: str, errs: Errors) -> None:
    if type(value) is not bool:
        wrong_type(errs, path, value, "boolean")


def is_number(value: object) -> bool:
    """A JSON number: an int or a finite float, never a bool."""
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value)


def check_object_type(value: object, path: str, errs: Errors, rule: str, allowed: str) -> None:
    """An objectType that is not one of the values allowed here (exact case, XAPI-00009)."""
    if type(value) is not str:
        wrong_type(errs, path, value, "string")
    else:
        errs.append(Violation(path, rule, f"must be {allowed} (case-sensitive), got {value!r:.60}"))


def check_language_map(value: object, path: str, errs: Errors) -> None:
    """Keys are RFC 5646 tags, values strings (1.0.3 Data 4.2, 2.0 4.2.7)."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    for tag, text in value.items():
        if type(tag) is not str or not is_language_tag(tag):
            message = f"language map keys must be RFC 5646 language tags, got {tag!r:.60}"
            errs.append(Violation(path + pointer(tag), LANGUAGE.rule, message))
        if type(text) is not str:
            wrong_type(errs, path + pointer(tag), text, "string")


def check_extensions(value: object, path: str, errs: Errors) -> None:
    """Keys are IRIs; values are anything, null included (1.0.3 Data 4.1, XAPI-00118/119)."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    for key in value:
        if type(key) is not str or not is_iri(key):
            message = f"extension keys must be IRIs, got {key!r:.100}"
            errs.append(Violation(path + pointer(key), "extensions.key", message))


def check_string_array(value: object, path: str, errs: Errors) -> None:
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    for index, item in enumerate(value):
        if type(item) is not str:
            wrong_type(errs, f"{path}/{index}", item, "string")


# Agents and Groups (1.0.3 Data 2.4.2, 2.0 4.2.2.1) ----------------------------------------


def check_actor(value: object, path: str, errs: Errors) -> None:
    """An Agent or a Group: actor, instructor, authority, or an object with objectType."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    kind = value.get("objectType", "Agent")
    if kind == "Agent":
        check_agent(value, path, errs)
    elif kind == "Group":
        check_group(value, path, errs)
    else:
        check_object_type(
            kind, path + "/objectType", errs, "actor.object_type", '"Agent" or "Group"'
        )


def check_agent(obj: dict[str, Any], path: str, errs: Errors) -> None:
    check_keys(obj, AGENT_KEYS, NOTHING, path, errs)
    if "name" in obj:
        check_string(obj["name"], path + "/name", errs)
    count = check_ifis(obj, path, errs)
    if count != 1:
        message = f"an Agent needs exactly one of mbox, mbox_sha1sum, openid, account; has {count}"
        errs.append(Violation(path, "agent.exactly_one_ifi", message))


def check_group(obj: dict[str, Any], path: str, errs: Errors) -> None:
    check_keys(obj, GROUP_KEYS, NOTHING, path, errs)
    if "name" in obj:
        check_string(obj["name"], path + "/name", errs)
    count = check_ifis(obj, path, errs)
    if "member" in obj:
        check_members(obj["member"], path + "/member", errs)
    if count > 1:
        message = f"a Group uses at most one of mbox, mbox_sha1sum, openid, account; has {count}"
        errs.append(Violation(path, "group.exactly_one_ifi", message))
    elif count == 0 and obj.get("member", ()) in ((), []):
        message = "an anonymous Group (no IFI) needs a non-empty member list"
        errs.append(Violation(path, "group.anonymous_requires_member", message))


def check_ifis(obj: dict[str, Any], path: str, errs: Errors) -> int:
    """Check each Inverse Functional Identifier present; return how many there are."""
    if IFI_SET.isdisjoint(obj):
        return 0
    count = 0
    if "mbox" in obj:
        count += 1
        check_format(obj["mbox"], path + "/mbox", errs, MAILTO)
    if "mbox_sha1sum" in obj:
        count += 1
        check_format(obj["mbox_sha1sum"], path + "/mbox_sha1sum", errs, SHA1)
    if "openid" in obj:
        count += 1
        check_format(obj["openid"], path + "/openid", errs, URI)
    if "account" in obj:
        count += 1
        check_account(obj["account"], path + "/account", errs)
    return count


def check_account(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, ACCOUNT_KEYS, ACCOUNT_KEYS, path, errs)
    if "homePage" in value:
        check_format(value["homePage"], path + "/homePage", errs, IRL)
    if "name" in value:
        check_string(value["name"], path + "/name", errs)


def check_members(value: object, path: str, errs: Errors) -> None:
    """Members are Agents, never Groups (1.0.3 Data 2.4.2.2, 2.0 4.2.4.2)."""
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    for index, member in enumerate(value):
        where = f"{path}/{index}"
        if type(member) is not dict:
            wrong_type(errs, where, member, "object")
            continue
        kind = member.get("objectType", "Agent")
        if kind == "Agent":
            check_agent(member, where, errs)
        elif kind == "Group":
            errs.append(
                Violation(
                    where, "group.member_not_agent", "a Group's members must be Agents, not Groups"
                )
            )
        else:
            check_object_type(kind, where + "/objectType", errs, "actor.object_type", '"Agent"')


# Verb (1.0.3 Data 2.4.3, 2.0 4.2.2.2) -----------------------------------------------------


def check_verb(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, VERB_KEYS, ID_ONLY, path, errs)
    if "id" in value:
        check_format(value["id"], path + "/id", errs, IRI)
    if "display" in value:
        check_language_map(value["display"], path + "/display", errs)


# Activities (1.0.3 Data 2.4.4.1, 2.0 4.2.2.3) ---------------------------------------------


def check_activity_object(value: object, path: str, errs: Errors) -> None:
    """An Activity where only an Activity may stand (contextActivities)."""
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    kind = value.get("objectType", "Activity")
    if kind != "Activity":
        check_object_type(kind, path + "/objectType", errs, "activity.object_type", '"Activity"')
        return
    check_activity(value, path, errs)


def check_activity(obj: dict[str, Any], path: str, errs: Errors) -> None:
    check_keys(obj, ACTIVITY_KEYS, ID_ONLY, path, errs)
    if "id" in obj:
        check_format(obj["id"], path + "/id", errs, IRI)
    if "definition" in obj:
        check_definition(obj["definition"], path + "/definition", errs)


def check_definition(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, DEFINITION_KEYS, NOTHING, path, errs)
    if "name" in value:
        check_language_map(value["name"], path + "/name", errs)
    if "description" in value:
        check_language_map(value["description"], path + "/description", errs)
    if "type" in value:
        check_format(value["type"], path + "/type", errs, IRI)
    if "moreInfo" in value:
        check_format(value["moreInfo"], path + "/moreInfo", errs, IRL)
    if "extensions" in value:
        check_extensions(value["extensions"], path + "/extensions", errs)
    if not INTERACTION_KEYS.isdisjoint(value):
        check_interaction(value, path, errs)


def check_interaction(obj: dict[str, Any], path: str, errs: Errors) -> None:
    """interactionType is required with any interaction property (XAPI-00064) and decides
    which component lists may appear (the "MAY validate" of 1.0.3 Data 2.4.4.1)."""
    kind = obj.get("interactionType")
    lists: tuple[str, ...] = INTERACTION_LISTS
    if "interactionType" not in obj:
        message = "interactionType is required when interaction properties are used"
        errs.append(Violation(path + "/interactionType", "interaction.type_required", message))
    elif type(kind) is str and kind in INTERACTION_TYPES:
        lists = INTERACTION_TYPES[kind]
    else:
        allowed = ", ".join(INTERACTION_TYPES)
        check_object_type(
            kind, path + "/interactionType", errs, "interaction.type", f"one of {allowed}"
        )
    if "correctResponsesPattern" in obj:
        check_string_array(obj["correctResponsesPattern"], path + "/correctResponsesPattern", errs)
    for key in INTERACTION_LISTS:
        if key in obj:
            if key not in lists:
                message = f"interactionType {kind!r} does not use the {key!r} component list"
                errs.append(Violation(path + "/" + key, "interaction.component_list", message))
            check_components(obj[key], path + "/" + key, errs)


def check_components(value: object, path: str, errs: Errors) -> None:
    """Interaction components: objects with a string id unique within the list."""
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    seen: set[str] = set()
    for index, component in enumerate(value):
        where = f"{path}/{index}"
        if type(component) is not dict:
            wrong_type(errs, where, component, "object")
            continue
        check_keys(component, COMPONENT_KEYS, ID_ONLY, where, errs)
        ident = component.get("id")
        if type(ident) is str:
            if ident in seen:
                message = f"component id {ident!r:.60} appears twice in this list"
                errs.append(Violation(where + "/id", "interaction.component_id_unique", message))
            seen.add(ident)
        elif "id" in component:
            wrong_type(errs, where + "/id", ident, "string")
        if "description" in component:
            check_language_map(component["description"], where + "/description", errs)


def check_statement_ref(obj: dict[str, Any], path: str, errs: Errors) -> None:
    check_keys(obj, STATEMENT_REF_KEYS, ID_ONLY, path, errs)
    if "id" in obj:
        check_format(obj["id"], path + "/id", errs, UUID)


# Result (1.0.3 Data 2.4.5, 2.0 4.2.2.4) ---------------------------------------------------


def check_result(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, RESULT_KEYS, NOTHING, path, errs)
    if "score" in value:
        check_score(value["score"], path + "/score", errs)
    if "success" in value:
        check_boolean(value["success"], path + "/success", errs)
    if "completion" in value:
        check_boolean(value["completion"], path + "/completion", errs)
    if "response" in value:
        check_string(value["response"], path + "/response", errs)
    if "duration" in value:
        check_format(value["duration"], path + "/duration", errs, DURATION)
    if "extensions" in value:
        check_extensions(value["extensions"], path + "/extensions", errs)


def check_score(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, SCORE_KEYS, NOTHING, path, errs)
    numbers: dict[str, float] = {}
    for key, number in value.items():
        if is_number(number):
            numbers[key] = number
        elif key in SCORE_KEYS:
            wrong_type(errs, path + "/" + key, number, "number")
    if numbers:
        check_score_ranges(numbers, path, errs)


def check_score_ranges(numbers: dict[str, float], path: str, errs: Errors) -> None:
    """scaled in [-1, 1]; min < max; raw in [min, max] (1.0.3 Data 2.4.5.1, XAPI-00080..83)."""
    scaled, raw = numbers.get("scaled"), numbers.get("raw")
    low, high = numbers.get("min"), numbers.get("max")
    if scaled is not None and not -1 <= scaled <= 1:
        errs.append(
            Violation(
                path + "/scaled", "score.scaled_range", f"must be between -1 and 1, got {scaled}"
            )
        )
    if low is not None and high is not None and not low < high:
        errs.append(
            Violation(
                path + "/max", "score.min_max", f"max ({high}) must be greater than min ({low})"
            )
        )
    if raw is not None and low is not None and raw < low:
        errs.append(
            Violation(path + "/raw", "score.raw_range", f"raw ({raw}) is below min ({low})")
        )
    if raw is not None and high is not None and raw > high:
        errs.append(
            Violation(path + "/raw", "score.raw_range", f"raw ({raw}) is above max ({high})")
        )


# Attachments (1.0.3 Data 2.4.11 and 2.6, 2.0 4.2.2.6 and 4.2.6) ----------------------------


def check_attachments(value: object, path: str, errs: Errors) -> None:
    if type(value) is not list:
        wrong_type(errs, path, value, "array")
        return
    for index, attachment in enumerate(value):
        check_attachment(attachment, f"{path}/{index}", errs)


def check_attachment(value: object, path: str, errs: Errors) -> None:
    if type(value) is not dict:
        wrong_type(errs, path, value, "object")
        return
    check_keys(value, ATTACHMENT_KEYS, ATTACHMENT_REQUIRED, path, errs)
    if "usageType" in value:
        check_format(value["usageType"], path + "/usageType", errs, IRI)
    if "display" in value:
        check_language_map(value["display"], path + "/display", errs)
    if "description" in value:
        check_language_map(value["description"], path + "/description", errs)
    if "contentType" in value:
        check_format(value["contentType"], path + "/contentType", errs, MIME)
    if "length" in value:
        check_length(value["length"], path + "/length", errs)
    if "sha2" in value:
        check_format(value["sha2"], path + "/sha2", errs, SHA2)
    if "fileUrl" in value:
        check_format(value["fileUrl"], path + "/fileUrl", errs, IRL)
    if value.get("usageType") == SIGNATURE_USAGE:
        check_signature_content_type(value.get("contentType"), path + "/contentType", errs)


def check_length(value: object, path: str, errs: Errors) -> None:
    """An integer number of octets: JSON `27` or `27.0`, never negative."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        wrong_type(errs, path, value, "integer")
    elif value < 0:
        errs.append(Violation(path, "attachment.length", f"must not be negative, got {value}"))


def check_signature_content_type(value: object, path: str, errs: Errors) -> None:
    """A signature attachment MUST be application/octet-stream (1.0.3 Data 2.6, XAPI-00115)."""
    if type(value) is str and value.split(";", 1)[0].strip().lower() == SIGNATURE_CONTENT_TYPE:
        return
    message = f"a signature attachment must have contentType {SIGNATURE_CONTENT_TYPE}"
    errs.append(Violation(path, "signature.content_type", message))
