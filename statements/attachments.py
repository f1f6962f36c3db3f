"""Matching attachment objects declared by statements with the attachment data received.

xAPI 1.0.3 Data 2.4.11 "Attachments" and Communication 1.5.2 "Multipart/Mixed"; xAPI 2.0
Base Standard 4.2.2.6 "Attachments" and 4.1.3 "Content Types":

- a multipart request MUST be rejected when an attachment "neither contain[s] a fileUrl nor
  match[es] a received Attachment part based on their hash";
- an `application/json` request MUST "include a fileUrl for every Attachment";
- a part that no statement declares is an "excess multi-part section" (conformance
  XAPI-00128, XAPI-00132): rejected;
- the data of one attachment used by several statements is sent once, so parts are kept by
  hash and stored once per hash.

SubStatements may declare attachments: the 2.0 Sub-Statement table lists `attachments`, and
1.0.3 validates a SubStatement "as a Statement". Their parts are matched like the others.

The declared `length` is not checked against the part: the spec's only rule ties `length` to a
part's Content-Length header (a client requirement, "MUST match"), and the conformance suite
itself posts parts whose size differs from `length` and expects 200.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from statements.errors import BadRequest, InvalidStatement, Violation
from statements.multipart import media_type
from statements.types import Attachment, JSONObject, Statement

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"


def declared_attachments(statements: Sequence[Statement]) -> list[JSONObject]:
    """Every attachment object of a batch, those of SubStatements included, in order."""
    return [attachment for _, attachment in _declared(statements)]


def _declared(statements: Sequence[Statement]) -> Iterator[tuple[str, JSONObject]]:
    """(JSON pointer, attachment object) pairs; pointers index the batch (`/0/attachments/1`)."""
    for index, statement in enumerate(statements):
        yield from _objects(statement.get("attachments"), f"/{index}/attachments")
        target = statement.get("object")
        if isinstance(target, dict) and target.get("objectType") == "SubStatement":
            yield from _objects(target.get("attachments"), f"/{index}/object/attachments")


def _objects(attachments: Any, path: str) -> Iterator[tuple[str, JSONObject]]:
    if isinstance(attachments, list):
        for position, attachment in enumerate(attachments):
            if isinstance(attachment, dict):
                yield f"{path}/{position}", attachment


def _sha2(attachment: JSONObject) -> str:
    sha2 = attachment.get("sha2")
    return sha2.lower() if isinstance(sha2, str) else ""


def _statement_index(path: str) -> str:
    return path.split("/", 2)[1]


def match_attachments(
    statements: Sequence[Statement], parts: Sequence[Attachment], *, multipart: bool
) -> dict[str, Attachment]:
    """The received parts by lower-case sha2, once every declaration and part is accounted for.

    `parts` are the attachment parts of a multipart body in order (part 2 onward); with
    `multipart=False` (an `application/json` request) there are none and every attachment
    needs a fileUrl. A part without a Content-Type takes the declared `contentType`.
    """
    declared = list(_declared(statements))
    if not multipart:
        if parts:
            raise BadRequest("an application/json request cannot carry attachment parts")
        _require(declared, lambda a: bool(a.get("fileUrl")), "attachment.file_url_required")
        return {}
    received: dict[str, Attachment] = {}
    for part in parts:
        received.setdefault(part.sha2.lower(), part)
    _reject_undeclared(parts, {_sha2(attachment) for _, attachment in declared})
    _require(
        declared,
        lambda a: bool(a.get("fileUrl")) or _sha2(a) in received,
        "attachment.part_missing",
    )
    return {sha2: _with_content_type(part, declared) for sha2, part in received.items()}


def carried_hashes(statement: Statement, received: Collection[str]) -> tuple[str, ...]:
    """The sha2 of the statement's attachments whose bytes arrived with it, in order, once.

    These are the attachments a GET with `attachments=true` serves with the statement.
    Content is stored once per hash, so without this a statement declaring someone else's
    `sha2` with a `fileUrl` and no part (which the spec says to accept) would be served that
    someone's bytes: a hash is not a capability. A bodiless attachment is served by its
    `fileUrl` alone, as the spec describes it ("the Attachment data can be retrieved" there),
    even when the same bytes came with another statement, the same client's included.
    """
    return tuple(
        dict.fromkeys(
            sha2
            for _, attachment in _objects(statement.get("attachments"), "")
            if (sha2 := _sha2(attachment)) in received
        )
    )


def _reject_undeclared(parts: Sequence[Attachment], declared: set[str]) -> None:
    for number, part in enumerate(parts, start=2):
        if part.sha2.lower() not in declared:
            raise BadRequest(
                f"part {number}: X-Experience-API-Hash {part.sha2} matches no attachment "
                "declared by the statements (an excess multipart section)"
            )


_MESSAGES = {
    "attachment.file_url_required": "an application/json request needs a fileUrl for "
    "attachment {sha2} (send its data as a multipart/mixed part instead)",
    "attachment.part_missing": "attachment {sha2} has neither a fileUrl nor a multipart part "
    "with that X-Experience-API-Hash",
}


def _require(
    declared: list[tuple[str, JSONObject]], holds: Callable[[JSONObject], bool], rule: str
) -> None:
    """Raise one violation per attachment for which `holds` is false, naming statement and sha2."""
    violations = [
        Violation(
            path,
            rule,
            f"statement {_statement_index(path)}: "
            + _MESSAGES[rule].format(sha2=attachment.get("sha2")),
        )
        for path, attachment in declared
        if not holds(attachment)
    ]
    if violations:
        raise InvalidStatement(violations)


def _with_content_type(part: Attachment, declared: list[tuple[str, JSONObject]]) -> Attachment:
    if part.content_type:
        return part
    for _, attachment in declared:
        content_type = attachment.get("contentType")
        if _sha2(attachment) == part.sha2.lower() and isinstance(content_type, str):
            return dataclasses.replace(part, content_type=content_type)
    return part


def signature_parts(
    statement: Statement, parts_by_sha: Mapping[str, Attachment], *, path: str = ""
) -> list[Attachment]:
    """The JWS parts of a statement's signature attachments (1.0.3 Data 2.6, 2.0 4.2.6).

    A signature attachment has usageType `.../attachments/signature` and MUST have contentType
    `application/octet-stream`; its JWS must arrive as a part, since the LRS MUST verify it
    (conformance XAPI-00115). `path` prefixes the JSON pointers of violations (`/3` in a batch).
    Only the statement's own attachments count: a signature signs the whole statement.
    """
    return [
        _signature_part(pointer, attachment, parts_by_sha)
        for pointer, attachment in _objects(statement.get("attachments"), f"{path}/attachments")
        if attachment.get("usageType") == SIGNATURE_USAGE
    ]


def _signature_part(
    pointer: str, attachment: JSONObject, parts_by_sha: Mapping[str, Attachment]
) -> Attachment:
    content_type = attachment.get("contentType")
    if not isinstance(content_type, str) or media_type(content_type) != SIGNATURE_CONTENT_TYPE:
        raise InvalidStatement(
            [
                Violation(
                    f"{pointer}/contentType",
                    "signature.content_type",
                    f"a signature attachment must have contentType {SIGNATURE_CONTENT_TYPE}, "
                    f"got {content_type!r}",
                )
            ]
        )
    part = parts_by_sha.get(_sha2(attachment))
    if part is None:
        message = "a signature attachment must carry its JWS as a multipart part"
        raise InvalidStatement([Violation(pointer, "signature.missing", message)])
    return part
