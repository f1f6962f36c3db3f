"""Document resources, the pure part: identity, ETags, preconditions and the JSON merge.

xAPI 1.0.3 Communication 2.2 (documents, JSON merge), 3.1 (concurrency); 2.0 Base Standard
4.1.4 (concurrency) and 4.1.6.2, 4.1.6.5, 4.1.6.6 (State, Agent Profile, Activity Profile).

A write is planned by a pure function of the stored document (or `None`): `plan_put` and
`plan_post` either return the content to store or raise. The storage layer runs the plan
against what it read and stores the result only if the document has not changed since
(a compare-and-set on its revision), re-planning otherwise. So two writers holding the
same `If-Match` can never both win: the loser re-plans against the winner's document and
its precondition fails.

Concurrency rules, by version:

- `If-Match` (an ETag list or `*`) and `If-None-Match` (`*` or a list) are honoured on
  PUT, POST and DELETE of all three resources; a failure is 412 and changes nothing.
- A PUT without either header to an existing document is 409: for both profile
  resources in 1.0.3 and 2.0, and for the State Resource in 2.0 (4.1.4 names all three
  resources; 1.0.3 3.1 lets State writes go without concurrency headers).
- A PUT without either header creating a profile document is 400 in 1.0.3 ("A Client
  making a PUT request to either the Agent Profile Resource or Activity Profile Resource
  MUST include the If-Match header or the If-None-Match header", as the ADL suite checks);
  2.0 dropped that client requirement, so there it creates the document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from statements.errors import (
    BadRequest,
    InvalidDocument,
    PreconditionFailed,
    PreconditionRequired,
)
from statements.json_input import JSONInputError, decode_json
from statements.types import SpecVersion

DocumentKind = Literal["state", "activity_profile", "agent_profile"]
JSON_TYPE = "application/json"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
ANY = "*"


@dataclass(frozen=True, slots=True)
class DocumentScope:
    """The context documents live in: Activity and/or Agent (IFI key), and registration.

    For a single document, `registration=None` means "stored without a registration". For a
    State listing or deletion it means "any registration" (1.0.3 2.3: "Activity + Agent
    [+ registration if specified]").
    """

    kind: DocumentKind
    activity_id: str | None = None
    agent_key: str | None = None
    registration: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentKey:
    scope: DocumentScope
    document_id: str


@dataclass(frozen=True, slots=True)
class DocumentContent:
    """What a write stores: the exact bytes and the Content-Type they came with."""

    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class StoredDocument:
    content: bytes
    content_type: str
    etag: str
    """SHA-1 hex of `content` (1.0.3 3.1 requires exactly this), unquoted."""
    updated: datetime
    revision: int
    """Increases on every write; the compare-and-set token of the storage layer."""


@dataclass(frozen=True, slots=True)
class Preconditions:
    """Parsed `If-Match` / `If-None-Match`: `None` when absent, else entity tags or `*`."""

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True, slots=True)
class PostedDocument:
    """A POST body, with its JSON object decoded when it was sent as application/json."""

    content: DocumentContent
    json: dict[str, Any] | None
    """The decoded object; `None` when the body is not a JSON object sent as JSON."""


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def quoted(etag: str) -> str:
    return f'"{etag}"'


def media_type_of(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parse_preconditions(if_match: str | None, if_none_match: str | None) -> Preconditions:
    return Preconditions(
        _entity_tags(if_match, weak_matches=False), _entity_tags(if_none_match, weak_matches=True)
    )


def _entity_tags(header: str | None, *, weak_matches: bool) -> frozenset[str] | None:
    """`"a", W/"b"` -> {"a", "b"}, `*` -> {"*"}; unquoted tags are tolerated.

    RFC 7232: If-Match compares strongly, so a weak tag there matches nothing and is
    dropped; If-None-Match compares weakly, so its weak tags count by their opaque value.
    """
    if header is None:
        return None
    tags = set()
    for raw in header.split(","):
        tag = raw.strip()
        weak = tag[:2] in ("W/", "w/")
        tag = tag[2:] if weak else tag
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag and (weak_matches or not weak):
            tags.add(tag if tag == ANY else tag.lower())
    return frozenset(tags)


def check_preconditions(pre: Preconditions, current: StoredDocument | None) -> None:
    """RFC 7232 3.1/3.2 for state-changing methods: 412 when a condition does not hold."""
    etag = None if current is None else current.etag
    if pre.if_match is not None and (
        etag is None or not (ANY in pre.if_match or etag in pre.if_match)
    ):
        raise PreconditionFailed(
            "If-Match does not match the document's current ETag"
            if etag is not None
            else "If-Match was given but the document does not exist",
            {"header": "If-Match"},
        )
    if pre.if_none_match is not None and etag is not None:
        if ANY in pre.if_none_match or etag in pre.if_none_match:
            raise PreconditionFailed(
                "If-None-Match: the document exists (with a matching ETag)",
                {"header": "If-None-Match"},
            )


def _check_put_headers(
    pre: Preconditions, current: StoredDocument | None, kind: DocumentKind, version: SpecVersion
) -> None:
    if pre.given:
        return
    if current is not None and (kind != "state" or version == "2.0.0"):
        raise PreconditionRequired(
            "the document already exists: GET it to check its current state, then PUT "
            "again with an If-Match header holding its current ETag",
            {"required_header": "If-Match", "etag": quoted(current.etag)},
        )
    if current is None and kind != "state" and version == "1.0.3":
        raise BadRequest(
            "a PUT to a profile resource must carry an If-Match or If-None-Match header (xAPI "
            "1.0.3): send If-None-Match: * to create this document (If-Match with its ETag "
            "replaces an existing one)",
            {"rule": "concurrency.header_required", "required_header": "If-None-Match"},
        )


def plan_put(
    document: DocumentContent,
    pre: Preconditions,
    current: StoredDocument | None,
    *,
    kind: DocumentKind,
    version: SpecVersion,
) -> DocumentContent:
    """PUT replaces the document, under the concurrency rules of the module docstring."""
    check_preconditions(pre, current)
    _check_put_headers(pre, current, kind, version)
    return document


def read_posted(content: bytes, content_type: str | None) -> PostedDocument:
    """Decode a POST body once, before any database work: JSON must parse (400 otherwise)."""
    document = DocumentContent(content, content_type or DEFAULT_CONTENT_TYPE)
    if media_type_of(document.content_type) != JSON_TYPE:
        return PostedDocument(document, None)
    try:
        value = decode_json(content)
    except JSONInputError as error:
        raise InvalidDocument(
            f"the posted application/json document: {error.message}", {"rule": error.rule}
        ) from None
    return PostedDocument(document, value if isinstance(value, dict) else None)


def plan_post(
    posted: PostedDocument, pre: Preconditions, current: StoredDocument | None
) -> DocumentContent:
    """POST stores a new document, or merges JSON objects one level deep into an existing one.

    1.0.3 2.2 "JSON Procedure": every top-level property of the posted object replaces the
    stored one. When either document is not an application/json JSON object the request is
    400 and the stored document stays as it was.
    """
    check_preconditions(pre, current)
    if current is None:
        return posted.content
    stored = _stored_json_object(current)
    if posted.json is None:
        raise InvalidDocument(
            "cannot merge: the posted document is not a JSON object sent as application/json",
            {"rule": "document.merge"},
        )
    merged = orjson.dumps({**stored, **posted.json})
    return DocumentContent(merged, posted.content.content_type)


def _stored_json_object(current: StoredDocument) -> dict[str, Any]:
    refusal = InvalidDocument(
        "cannot merge: the stored document is not a JSON object of type application/json",
        {"rule": "document.merge"},
    )
    if media_type_of(current.content_type) != JSON_TYPE:
        raise refusal
    try:
        value = decode_json(current.content)
    except JSONInputError as error:
        if error.rule == "json.depth":  # stored by a PUT, which keeps any bytes as they are
            raise InvalidDocument(
                f"cannot merge: the stored document: {error.message}", {"rule": error.rule}
            ) from None
        raise refusal from None
    if not isinstance(value, dict):
        raise refusal
    return value
