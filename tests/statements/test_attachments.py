"""xAPI 1.0.3 Data 2.4.11 / Communication 1.5 and 2.0 4.2.2.6 / 4.1.3: matching attachments."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from statements.attachments import (
    SIGNATURE_USAGE,
    declared_attachments,
    match_attachments,
    signature_parts,
)
from statements.errors import BadRequest, InvalidStatement
from statements.types import Attachment

TEXT = b"here is a simple attachment"
OTHER = b"another attachment"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def declaration(content: bytes, **overrides: Any) -> dict[str, Any]:
    attachment = {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": sha(content),
    }
    attachment.update(overrides)
    return attachment


def statement(*attachments: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "http://example.com/activity"},
    }
    if attachments:
        result["attachments"] = list(attachments)
    result.update(overrides)
    return result


def part(content: bytes, content_type: str = "text/plain") -> Attachment:
    return Attachment(sha(content), content_type, content)


def sub_statement(*attachments: dict[str, Any]) -> dict[str, Any]:
    inner = statement(*attachments)
    inner["objectType"] = "SubStatement"
    return inner


def test_declared_attachments_lists_every_attachment_of_the_batch_in_order():
    first, second, third = declaration(TEXT), declaration(OTHER), declaration(b"3")
    batch = [statement(first, second), statement(), statement(third)]

    assert declared_attachments(batch) == [first, second, third]


def test_sub_statements_can_declare_attachments():
    """2.0 lists `attachments` in the Sub-Statement table; 1.0.3 validates one as a Statement."""
    inner = declaration(OTHER)
    batch = [statement(declaration(TEXT), object=sub_statement(inner))]

    assert declared_attachments(batch)[1] is inner
    assert set(match_attachments(batch, [part(TEXT), part(OTHER)], multipart=True)) == {
        sha(TEXT),
        sha(OTHER),
    }


def test_json_request_accepts_attachments_that_all_have_a_file_url():
    batch = [statement(declaration(TEXT, fileUrl="http://example.com/a.txt")), statement()]

    assert match_attachments(batch, [], multipart=False) == {}


def test_json_request_rejects_an_attachment_without_file_url_naming_statement_and_sha2():
    batch = [
        statement(),
        statement(declaration(TEXT, fileUrl="http://x.test/a"), declaration(OTHER)),
    ]

    with pytest.raises(InvalidStatement) as raised:
        match_attachments(batch, [], multipart=False)

    [violation] = raised.value.violations
    assert violation.path == "/1/attachments/1"
    assert violation.rule == "attachment.file_url_required"
    assert "statement 1" in violation.message and sha(OTHER) in violation.message


def test_json_request_cannot_carry_parts():
    with pytest.raises(BadRequest):
        match_attachments([statement()], [part(TEXT)], multipart=False)


def test_multipart_request_returns_the_parts_by_sha2():
    text, other = part(TEXT), part(OTHER, "application/octet-stream")
    batch = [statement(declaration(TEXT), declaration(OTHER))]

    assert match_attachments(batch, [text, other], multipart=True) == {
        sha(TEXT): text,
        sha(OTHER): other,
    }


def test_multipart_request_without_attachments_or_with_only_file_urls_is_accepted():
    batch = [statement(), statement(declaration(TEXT, fileUrl="http://example.com/a.txt"))]

    assert match_attachments(batch, [], multipart=True) == {}


def test_a_part_may_also_carry_the_data_of_an_attachment_with_a_file_url():
    batch = [statement(declaration(TEXT, fileUrl="http://example.com/a.txt"))]

    assert list(match_attachments(batch, [part(TEXT)], multipart=True)) == [sha(TEXT)]


def test_an_attachment_without_file_url_or_part_is_rejected_naming_statement_and_sha2():
    """Conformance XAPI-00129: a missing part for a non-fileUrl attachment is a 400."""
    batch = [statement(declaration(TEXT)), statement(declaration(OTHER))]

    with pytest.raises(InvalidStatement) as raised:
        match_attachments(batch, [part(TEXT)], multipart=True)

    [violation] = raised.value.violations
    assert violation.path == "/1/attachments/0"
    assert violation.rule == "attachment.part_missing"
    assert "statement 1" in violation.message and sha(OTHER) in violation.message


def test_a_part_that_no_statement_declares_is_rejected():
    """Conformance XAPI-00128: excess multipart sections are a 400."""
    batch = [statement(declaration(TEXT))]

    with pytest.raises(BadRequest, match=f"part 3: X-Experience-API-Hash {sha(OTHER)} matches no"):
        match_attachments(batch, [part(TEXT), part(OTHER)], multipart=True)


def test_one_part_serves_every_statement_that_declares_its_hash():
    """A client SHOULD send the data once when several statements share an attachment."""
    text = part(TEXT)
    batch = [statement(declaration(TEXT)), statement(declaration(TEXT))]

    assert match_attachments(batch, [text], multipart=True) == {sha(TEXT): text}


def test_a_repeated_part_is_stored_once():
    batch = [statement(declaration(TEXT))]

    assert len(match_attachments(batch, [part(TEXT), part(TEXT)], multipart=True)) == 1


def test_sha2_comparison_ignores_hex_case():
    batch = [statement(declaration(TEXT, sha2=sha(TEXT).upper()))]

    assert list(match_attachments(batch, [part(TEXT)], multipart=True)) == [sha(TEXT)]


def test_declared_length_is_not_compared_with_the_part():
    """The conformance suite posts parts whose size differs from `length` and expects 200."""
    batch = [statement(declaration(TEXT, length=1))]

    assert list(match_attachments(batch, [part(TEXT)], multipart=True)) == [sha(TEXT)]


def test_a_part_without_content_type_takes_the_declared_content_type():
    batch = [statement(declaration(TEXT, contentType="text/plain; charset=ascii"))]

    matched = match_attachments(batch, [part(TEXT, "")], multipart=True)

    assert matched[sha(TEXT)].content_type == "text/plain; charset=ascii"
    assert matched[sha(TEXT)].content == TEXT


def signature_declaration(jws: bytes, **overrides: Any) -> dict[str, Any]:
    fields = {"usageType": SIGNATURE_USAGE, "contentType": "application/octet-stream"}
    return declaration(jws, **{**fields, **overrides})


def test_signature_parts_are_the_parts_of_signature_attachments():
    jws = b"header.payload.signature"
    signed = statement(declaration(TEXT), signature_declaration(jws))
    parts = {sha(TEXT): part(TEXT), sha(jws): part(jws, "application/octet-stream")}

    assert signature_parts(signed, parts) == [parts[sha(jws)]]


def test_a_statement_without_signature_has_no_signature_parts():
    assert signature_parts(statement(declaration(TEXT)), {sha(TEXT): part(TEXT)}) == []


def test_signatures_of_sub_statements_are_not_statement_signatures():
    jws = b"header.payload.signature"
    signed = statement(object=sub_statement(signature_declaration(jws)))

    assert signature_parts(signed, {sha(jws): part(jws)}) == []


def test_a_signature_attachment_must_have_content_type_octet_stream():
    """Conformance: "rejects a signed statement with a malformed signature - bad content type"."""
    jws = b"header.payload.signature"
    signed = statement(signature_declaration(jws, contentType="text/plain; charset=ascii"))

    with pytest.raises(InvalidStatement) as raised:
        signature_parts(signed, {sha(jws): part(jws)}, path="/2")

    [violation] = raised.value.violations
    assert (violation.path, violation.rule) == (
        "/2/attachments/0/contentType",
        "signature.content_type",
    )


def test_a_signature_attachment_must_come_with_its_jws():
    """Conformance XAPI-00115: a signature attachment without a signature attached is a 400."""
    jws = b"header.payload.signature"
    signed = statement(signature_declaration(jws, fileUrl="http://example.com/sig"))

    with pytest.raises(InvalidStatement) as raised:
        signature_parts(signed, {})

    [violation] = raised.value.violations
    assert (violation.path, violation.rule) == ("/attachments/0", "signature.missing")
