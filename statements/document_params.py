"""Query parameters of the State, Agent Profile, Activity Profile, Agents and Activities
resources (1.0.3 Communication 2.3-2.7, 2.0 4.1.6.2-4.1.6.6) -> typed requests.

Every parameter is checked before any storage work: required ones present, none repeated,
none unknown ("The LRS shall reject with 400 Bad Request status any requests that use any
parameters which the LRS does not recognize", which also covers a known name in the wrong
case), `agent` a JSON Agent (or identified Group), `activityId` an IRI, `registration` a
UUID, `since` a timestamp, ids bounded in length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from statements.documents import DocumentKind, DocumentScope
from statements.errors import InvalidQuery
from statements.formats import is_uuid, parse_timestamp, utc_instant
from statements.index import agent_key
from statements.json_input import JSONInputError, decode_json
from statements.types import SpecVersion
from statements.validate import validate_activity_id, validate_agent

Method = Literal["GET", "PUT", "POST", "DELETE"]
MAX_ID_LENGTH = 1024
"""stateId / profileId longer than this are refused (400): ids are keys, not content."""
MAX_PARAMETER_LENGTH = 8192
"""`agent` and `activityId` longer than this are refused (400)."""

ID_PARAMETER: dict[DocumentKind, str] = {
    "state": "stateId",
    "activity_profile": "profileId",
    "agent_profile": "profileId",
}
CONTEXT_PARAMETERS: dict[DocumentKind, tuple[str, ...]] = {
    "state": ("activityId", "agent"),
    "activity_profile": ("activityId",),
    "agent_profile": ("agent",),
}


@dataclass(frozen=True, slots=True)
class DocumentParams:
    scope: DocumentScope
    document_id: str | None
    """`None` addresses every document of the scope (GET ids, State DELETE)."""
    since: datetime | None = None


def parse_document_params(
    kind: DocumentKind, method: Method, params: Iterable[tuple[str, str]], version: SpecVersion
) -> DocumentParams:
    values = single_values(params, _allowed(kind, method))
    for name in CONTEXT_PARAMETERS[kind]:
        require(values, name)
    id_name = ID_PARAMETER[kind]
    document_id = values.get(id_name)
    if document_id is None and _id_required(kind, method):
        raise InvalidQuery(id_name, f"{id_name} is required for {method}")
    if document_id is not None and len(document_id) > MAX_ID_LENGTH:
        raise InvalidQuery(id_name, f"longer than {MAX_ID_LENGTH} characters")
    if document_id is not None and "since" in values:
        raise InvalidQuery("since", f"since is not allowed together with {id_name}")
    scope = DocumentScope(
        kind=kind,
        activity_id=parse_activity_id(values["activityId"]) if "activityId" in values else None,
        agent_key=parse_agent(values["agent"], version) if "agent" in values else None,
        registration=_registration(values.get("registration")),
    )
    return DocumentParams(scope, document_id, _since(values.get("since")))


def _id_required(kind: DocumentKind, method: Method) -> bool:
    """Writes name one document; only GET (ids) and the State DELETE (all) may omit it."""
    return method in ("PUT", "POST") or (method == "DELETE" and kind != "state")


def _allowed(kind: DocumentKind, method: Method) -> frozenset[str]:
    names = {*CONTEXT_PARAMETERS[kind], ID_PARAMETER[kind]}
    if kind == "state":
        names.add("registration")
    if method == "GET":
        names.add("since")
    return frozenset(names)


def single_values(params: Iterable[tuple[str, str]], allowed: frozenset[str]) -> dict[str, str]:
    """Each parameter once, and only known ones."""
    values: dict[str, str] = {}
    for name, value in params:
        if name not in allowed:
            raise InvalidQuery(name, f"unknown parameter (allowed: {sorted(allowed)})")
        if name in values:
            raise InvalidQuery(name, "parameter given more than once")
        values[name] = value
    return values


def require(values: dict[str, str], name: str) -> str:
    value = values.get(name)
    if value is None:
        raise InvalidQuery(name, "required parameter is missing")
    return value


def parse_agent(raw: str, version: SpecVersion) -> str:
    """The IFI key of the `agent` parameter (an Agent, or an identified Group)."""
    key = agent_key(parse_agent_object(raw, version))
    assert key is not None  # noqa: S101 - validate_agent refuses agents without an IFI
    return key


def parse_agent_object(raw: str, version: SpecVersion) -> dict[str, Any]:
    if len(raw) > MAX_PARAMETER_LENGTH:
        raise InvalidQuery("agent", f"longer than {MAX_PARAMETER_LENGTH} characters")
    try:
        agent = decode_json(raw)
    except JSONInputError as error:
        raise InvalidQuery("agent", f"must be a JSON Agent object ({error.message})") from None
    problems = validate_agent(agent, version)
    if problems:
        first = problems[0]
        raise InvalidQuery("agent", f"not a valid Agent: {first.path or '/'}: {first.message}")
    assert isinstance(agent, dict)  # noqa: S101 - validate_agent accepts only objects
    return agent


def parse_activity_id(raw: str) -> str:
    if len(raw) > MAX_PARAMETER_LENGTH:
        raise InvalidQuery("activityId", f"longer than {MAX_PARAMETER_LENGTH} characters")
    problems = validate_activity_id(raw)
    if problems:
        raise InvalidQuery("activityId", f"must be an IRI ({problems[0].message})")
    return raw


def _registration(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not is_uuid(raw):
        raise InvalidQuery("registration", "must be a UUID")
    return raw.lower()


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    moment = parse_timestamp(raw)
    if moment is None:
        raise InvalidQuery("since", "must be an ISO 8601 timestamp")
    return utc_instant(moment)
