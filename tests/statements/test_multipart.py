"""xAPI 1.0.3 Communication 1.5.2 / 2.0 4.1.3: the multipart/mixed transmission format."""

from __future__ import annotations

import hashlib
import os

import pytest

from statements.errors import BadRequest, PayloadTooLarge
from statements.multipart import (
    boundary_of,
    build_multipart_mixed,
    multipart_content_type,
    new_boundary,
    parse_multipart_mixed,
    sha2_matches,
)
from statements.types import Attachment

BOUNDARY = "-------314159265358979323846"
CONTENT_TYPE = f"multipart/mixed; boundary={BOUNDARY}"
STATEMENT = b'{"actor": {"mbox": "mailto:a@example.com"}}'
TEXT = b"here is a simple attachment"
TEXT_SHA = hashlib.sha256(TEXT).hexdigest()

# The example of 1.0.3 Communication 1.5.2, byte for byte (CRLF line endings).
SPEC_EXAMPLE_CONTENT_TYPE = 'multipart/mixed; boundary="abcABC0123\'()+_,-./:=?"'
SPEC_EXAMPLE = (
    b"\r\n"
    b"--abcABC0123'()+_,-./:=?\r\n"
    b"Content-Type:application/json\r\n"
    b"\r\n"
    b'{"actor": {"mbox": "mailto:sample.agent@example.com"}, "attachments": [{"sha2": '
    b'"495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"}]}\r\n'
    b"--abcABC0123'()+_,-./:=?\r\n"
    b"Content-Type:text/plain\r\n"
    b"Content-Transfer-Encoding:binary\r\n"
    b"X-Experience-API-Hash:495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a\r\n"
    b"\r\n"
    b"here is a simple attachment\r\n"
    b"--abcABC0123'()+_,-./:=?--"
)


def part(headers: dict[str, str], content: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return lines.encode() + b"\r\n" + content


def attachment_part(content: bytes, **overrides: str | None) -> bytes:
    headers: dict[str, str | None] = {
        "Content-Type": "text/plain",
        "Content-Transfer-Encoding": "binary",
        "X-Experience-API-Hash": hashlib.sha256(content).hexdigest(),
    }
    headers.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return part({k: v for k, v in headers.items() if v is not None}, content)


def body(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    """Parts joined as the conformance suite sends them (CRLF after the close delimiter)."""
    delimiter = b"--" + boundary.encode()
    return b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts) + delimiter + b"--\r\n"


def statement_part(content_type: str = "application/json") -> bytes:
    return part({"Content-Type": content_type}, STATEMENT)


def test_parses_the_spec_example_with_a_quoted_boundary_and_a_leading_crlf():
    statements, attachments = parse_multipart_mixed(SPEC_EXAMPLE, SPEC_EXAMPLE_CONTENT_TYPE)

    assert statements.startswith(b'{"actor"') and statements.endswith(b"]}")
    [attachment] = attachments
    assert attachment.content == TEXT
    assert attachment.sha2 == TEXT_SHA
    assert attachment.content_type == "text/plain"
    assert attachment.headers["content-transfer-encoding"] == "binary"


def test_first_part_is_the_statements_and_the_others_are_attachments_in_order():
    second = b"\x00\x01binary\r\n\r\n--not-the-boundary\r\n"
    raw = body(statement_part(), attachment_part(TEXT), attachment_part(second))

    statements, attachments = parse_multipart_mixed(raw, CONTENT_TYPE)

    assert statements == STATEMENT
    assert [a.content for a in attachments] == [TEXT, second]


def test_a_body_with_only_the_statements_part_has_no_attachments():
    assert parse_multipart_mixed(body(statement_part()), CONTENT_TYPE) == (STATEMENT, [])


def test_preamble_epilogue_and_transport_padding_are_ignored():
    raw = b"preamble\r\n" + body(statement_part()).replace(
        f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY} \t\r\n".encode()
    )
    raw += b"epilogue"

    assert parse_multipart_mixed(raw, CONTENT_TYPE) == (STATEMENT, [])


@pytest.mark.parametrize(
    "content_type",
    [
        f"multipart/mixed;boundary={BOUNDARY}",
        f'Multipart/Mixed; charset=utf-8; BOUNDARY="{BOUNDARY}"',
        f'multipart/mixed; boundary = "{BOUNDARY}" ; foo=bar',
    ],
)
def test_boundary_is_read_from_the_content_type_header(content_type):
    assert boundary_of(content_type) == BOUNDARY


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("multipart/mixed;", "no boundary parameter"),
        ("multipart/mixed; charset=utf-8", "no boundary parameter"),
        (f"multipart/form-data; boundary={BOUNDARY}", "must be multipart/mixed"),
        ("multipart/mixed; boundary=" + "x" * 71, "not an RFC 2046 boundary"),
        ('multipart/mixed; boundary="a;b"', "not an RFC 2046 boundary"),
    ],
)
def test_a_content_type_without_a_usable_boundary_is_rejected(content_type, message):
    with pytest.raises(BadRequest, match=message):
        parse_multipart_mixed(body(statement_part()), content_type)


def test_a_body_without_the_boundary_is_rejected():
    raw = statement_part() + b"\r\n--other--\r\n"

    with pytest.raises(BadRequest, match="does not contain the boundary"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_the_statements_part_must_be_application_json():
    raw = body(statement_part("text/plain"), attachment_part(TEXT))

    with pytest.raises(BadRequest, match="part 1: Content-Type must be application/json"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_statements_sent_before_the_first_boundary_are_a_preamble_not_a_part():
    """Conformance XAPI-00131: no boundary before the statements makes them RFC 2046 preamble."""
    raw = statement_part() + b"\r\n" + body(attachment_part(TEXT))

    with pytest.raises(BadRequest, match="part 1: Content-Type must be application/json"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_the_statements_part_may_carry_media_type_parameters():
    raw = body(statement_part("Application/JSON; charset=UTF-8"))

    assert parse_multipart_mixed(raw, CONTENT_TYPE)[0] == STATEMENT


def test_a_statements_part_without_content_type_is_rejected():
    with pytest.raises(BadRequest, match="part 1: .*got 'none'"):
        parse_multipart_mixed(body(b"\r\n" + STATEMENT), CONTENT_TYPE)


def test_statements_split_over_two_parts_are_rejected():
    """Conformance XAPI-00133: the second JSON part is an attachment part without a hash."""
    raw = body(statement_part(), statement_part(), attachment_part(TEXT))

    with pytest.raises(BadRequest, match="part 2: X-Experience-API-Hash missing"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_an_attachment_part_must_carry_x_experience_api_hash():
    raw = body(
        statement_part(), attachment_part(TEXT), attachment_part(TEXT, X_Experience_API_Hash=None)
    )

    with pytest.raises(BadRequest, match="part 3: X-Experience-API-Hash missing"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_the_hash_must_match_the_part_content():
    wrong = "b018994f8bbe0f08992a65c48c8c8c56f09e9baceaa6227ed85c90ae52b73c89"
    raw = body(statement_part(), attachment_part(TEXT, X_Experience_API_Hash=wrong))

    with pytest.raises(BadRequest, match="part 2: X-Experience-API-Hash b018.* does not match"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


@pytest.mark.parametrize("value", ["not-hex", "abc123", "g" * 64])
def test_a_hash_that_is_not_a_sha2_hex_digest_is_rejected(value):
    raw = body(statement_part(), attachment_part(TEXT, X_Experience_API_Hash=value))

    with pytest.raises(BadRequest, match="part 2: .*not a SHA-2 hex digest"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512"])
def test_any_sha2_digest_is_accepted_in_either_case(algorithm):
    digest = hashlib.new(algorithm, TEXT).hexdigest().upper()
    raw = body(statement_part(), attachment_part(TEXT, X_Experience_API_Hash=digest))

    [attachment] = parse_multipart_mixed(raw, CONTENT_TYPE)[1]

    assert attachment.sha2 == digest.lower()


def test_content_transfer_encoding_other_than_binary_is_rejected():
    raw = body(statement_part(), attachment_part(TEXT, Content_Transfer_Encoding="base64"))

    with pytest.raises(BadRequest, match="part 2: Content-Transfer-Encoding must be binary"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_missing_content_transfer_encoding_is_assumed_binary():
    """The LRS "SHOULD assume a Content-Transfer-Encoding of binary"."""
    raw = body(statement_part(), attachment_part(TEXT, Content_Transfer_Encoding=None))

    assert parse_multipart_mixed(raw, CONTENT_TYPE)[1][0].content == TEXT


def test_an_attachment_part_without_content_type_has_an_empty_one():
    raw = body(statement_part(), attachment_part(TEXT, Content_Type=None))

    assert parse_multipart_mixed(raw, CONTENT_TYPE)[1][0].content_type == ""


def test_header_names_are_case_insensitive_and_folded_lines_are_joined():
    headers = (
        b"content-type: text/plain;\r\n charset=ascii\r\n"
        b"x-experience-api-hash: " + TEXT_SHA.encode() + b"\r\n\r\n"
    )
    [attachment] = parse_multipart_mixed(body(statement_part(), headers + TEXT), CONTENT_TYPE)[1]

    assert attachment.content_type == "text/plain; charset=ascii"


def test_lf_line_endings_are_rejected():
    raw = body(statement_part(), attachment_part(TEXT)).replace(b"\r\n", b"\n")

    with pytest.raises(BadRequest):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_a_header_block_without_blank_line_is_rejected():
    raw = body(statement_part(), b"Content-Type: text/plain")

    with pytest.raises(BadRequest, match="part 2: no blank line"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_a_malformed_header_line_is_rejected():
    raw = body(statement_part(), b"no colon here\r\n\r\n" + TEXT)

    with pytest.raises(BadRequest, match="part 2: malformed header line"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_a_body_without_the_closing_delimiter_is_rejected():
    raw = body(statement_part(), attachment_part(TEXT)).removesuffix(f"--{BOUNDARY}--\r\n".encode())

    with pytest.raises(BadRequest, match="closing boundary"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_a_boundary_line_with_trailing_garbage_is_rejected():
    raw = body(statement_part()).replace(
        f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY}x\r\n".encode()
    )

    with pytest.raises(BadRequest, match="part 1: boundary line is not followed by CRLF"):
        parse_multipart_mixed(raw, CONTENT_TYPE)


def test_an_empty_multipart_body_is_rejected():
    with pytest.raises(BadRequest, match="no parts"):
        parse_multipart_mixed(f"--{BOUNDARY}--\r\n".encode(), CONTENT_TYPE)


def test_more_parts_than_max_parts_is_rejected():
    attachments = [attachment_part(str(i).encode()) for i in range(3)]
    raw = body(statement_part(), *attachments)

    assert len(parse_multipart_mixed(raw, CONTENT_TYPE, max_parts=4)[1]) == 3
    with pytest.raises(PayloadTooLarge, match="more than 3 parts"):
        parse_multipart_mixed(raw, CONTENT_TYPE, max_parts=3)


def test_multi_megabyte_parts_come_back_byte_exact():
    big = os.urandom(8 * 1024 * 1024) + b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n\r\n"
    raw = body(statement_part(), attachment_part(big), attachment_part(TEXT))

    [first, second] = parse_multipart_mixed(raw, CONTENT_TYPE)[1]

    assert first.content == big
    assert second.content == TEXT


def test_built_responses_parse_back_to_the_same_parts():
    attachments = [
        Attachment(TEXT_SHA, "text/plain", TEXT),
        Attachment(
            hashlib.sha256(b"\x00\xff").hexdigest(), "application/octet-stream", b"\x00\xff"
        ),
    ]
    boundary = new_boundary()

    raw = build_multipart_mixed(STATEMENT, attachments, boundary)
    statements, parsed = parse_multipart_mixed(raw, multipart_content_type(boundary))

    assert statements == STATEMENT
    assert [(a.sha2, a.content_type, a.content) for a in parsed] == [
        (a.sha2, a.content_type, a.content) for a in attachments
    ]
    assert all(a.headers["content-transfer-encoding"] == "binary" for a in parsed)


def test_built_parts_never_carry_a_content_type_that_would_split_the_header():
    attachment = Attachment(TEXT_SHA, "text/plain\r\nX-Evil: 1", TEXT)
    boundary = new_boundary()

    raw = build_multipart_mixed(STATEMENT, [attachment], boundary)

    assert b"X-Evil" not in raw
    [parsed] = parse_multipart_mixed(raw, multipart_content_type(boundary))[1]
    assert parsed.content_type == "application/octet-stream"


def test_build_refuses_a_boundary_that_occurs_in_an_attachment():
    content = b"x\r\n--clash\r\n"
    attachment = Attachment(hashlib.sha256(content).hexdigest(), "text/plain", content)

    with pytest.raises(ValueError, match="occurs in attachment"):
        build_multipart_mixed(STATEMENT, [attachment], "clash")
    with pytest.raises(ValueError, match="not an RFC 2046 boundary"):
        build_multipart_mixed(STATEMENT, [], "bad\r\nboundary")


def test_new_boundaries_are_unique_and_valid():
    boundaries = {new_boundary() for _ in range(100)}

    assert len(boundaries) == 100
    assert all(boundary_of(multipart_content_type(b)) == b for b in boundaries)


def test_sha2_matches_only_the_digest_of_the_content():
    assert sha2_matches(TEXT_SHA, TEXT)
    assert sha2_matches(TEXT_SHA.upper(), TEXT)
    assert not sha2_matches(TEXT_SHA, TEXT + b"!")
    assert not sha2_matches("abc", TEXT)
    assert not sha2_matches("z" * 64, TEXT)


@pytest.mark.parametrize(
    "content_type", ["text/plain\nX-Injected: yes", "text/plain\rX: y", 'text/plain; a="\x00"']
)
def test_a_part_header_a_header_could_not_carry_is_rejected(content_type):
    """The part's Content-Type is stored and sent again with the attachment."""
    raw = body(statement_part(), attachment_part(TEXT, Content_Type=content_type))

    with pytest.raises(BadRequest, match="part 2: "):
        parse_multipart_mixed(raw, CONTENT_TYPE)


@pytest.mark.parametrize("content_type", ["plain text", "text/", 'text/plain; a="b'])
def test_a_part_content_type_that_is_not_a_media_type_is_rejected(content_type):
    raw = body(statement_part(), attachment_part(TEXT, Content_Type=content_type))

    with pytest.raises(BadRequest, match="part 2: Content-Type .* is not a media type"):
        parse_multipart_mixed(raw, CONTENT_TYPE)
