"""The `multipart/mixed` transmission format of statements with attachments.

xAPI 1.0.3 Communication 1.5.2 "Multipart/Mixed" and xAPI 2.0 Base Standard 4.1.3
"Content Types" (identical requirements in both versions):

- the body conforms to RFC 2046 `multipart/mixed`; the boundary comes from the request's
  Content-Type header, and every delimiter is `CRLF--boundary`;
- the first part holds the statements and MUST be `application/json`;
- every further part holds one attachment's raw octets and MUST carry `X-Experience-API-Hash`
  (the SHA-2 of its content) and `Content-Transfer-Encoding: binary`. The LRS "SHOULD assume a
  Content-Transfer-Encoding of binary", so a missing header is accepted, another value is not;
- attachments are matched to statements by hash and "MUST not [be matched] any other way", so a
  hash that does not match the part's own octets is rejected here, before any matching.

Pure bytes in, bytes out: the service reads the body, this module splits and builds it with
`bytes.find` and slicing (no per-line loops over attachment data).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from statements.errors import BadRequest, PayloadTooLarge
from statements.formats import is_mime_type
from statements.types import Attachment

CRLF = b"\r\n"
HASH_HEADER = "x-experience-api-hash"
TRANSFER_ENCODING_HEADER = "content-transfer-encoding"
DEFAULT_MAX_PARTS = 100

_SHA2_BY_HEX_LENGTH = {56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
_HEX = re.compile(r"[0-9a-fA-F]+")
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
# RFC 2046 5.1.1: 1 to 70 of bchars, not ending in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_TOKEN_RE = re.compile(r"[0-9A-Za-z'+_\-.]+")
"""Boundary characters that are also RFC 2045 token characters: no quotes needed."""
_WHITESPACE = b" \t"

Span = tuple[int, int]
"""Where a part sits in the body: [start, end) offsets, so content is copied only once."""

_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
"""What no header line may hold (a lone CR or LF would start another header when the part's
Content-Type is sent again with the attachment)."""


def sha2_matches(sha2: str, content: bytes) -> bool:
    """Whether `sha2` (hex, any case) is the SHA-2 digest of `content`.

    The spec asks for "the SHA-2 hash" and recommends SHA-256, SHA-384 or SHA-512 (1.0.3
    Communication 1.5.2), so the digest length picks the function (SHA-224 included).
    """
    algorithm = _SHA2_BY_HEX_LENGTH.get(len(sha2))
    if algorithm is None or not _HEX.fullmatch(sha2):
        return False
    return hashlib.new(algorithm, content).hexdigest() == sha2.lower()


def media_type(content_type: str) -> str:
    """The `type/subtype` of a Content-Type value, lower-cased, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a `multipart/mixed` Content-Type header (quoted or not)."""
    if media_type(content_type) != "multipart/mixed":
        raise BadRequest(f"Content-Type must be multipart/mixed, got {content_type!r}")
    for match in _PARAM.finditer(content_type):
        if match[1].lower() == "boundary":
            value: str = match[2].strip()
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            if not _BOUNDARY.fullmatch(value):
                raise BadRequest(f"Content-Type boundary {value!r} is not an RFC 2046 boundary")
            return value
    raise BadRequest("Content-Type multipart/mixed has no boundary parameter")


def parse_multipart_mixed(
    body: bytes, content_type: str, *, max_parts: int = DEFAULT_MAX_PARTS
) -> tuple[bytes, list[Attachment]]:
    """Split a statement request body into the statements JSON and the attachment parts.

    Parts are numbered from 1 in error messages (part 1 is the statements part). `max_parts`
    bounds the number of parts, the statements part included (413 when exceeded).
    """
    boundary = boundary_of(content_type).encode("ascii")
    spans = _split_parts(body, boundary, max_parts)
    headers, statements = _split_part(body, spans[0], 1)
    declared = headers.get("content-type", "")
    if media_type(declared) != "application/json":
        raise BadRequest(
            f"part 1: Content-Type must be application/json (the statements part), "
            f"got {declared or 'none'!r}"
        )
    attachments = [_attachment(body, span, number) for number, span in enumerate(spans[1:], 2)]
    return statements, attachments


def _split_parts(body: bytes, boundary: bytes, max_parts: int) -> list[Span]:
    """The encapsulated parts between `--boundary` delimiters (RFC 2046 5.1.1).

    The preamble before the first delimiter and the epilogue after the close delimiter are
    ignored, as RFC 2046 requires.
    """
    delimiter = CRLF + b"--" + boundary
    first = -2 if body.startswith(delimiter[2:]) else body.find(delimiter)
    if first == -1:
        raise BadRequest("multipart body does not contain the boundary given in Content-Type")
    position = first + len(delimiter)
    spans: list[Span] = []
    while not body.startswith(b"--", position):
        if len(spans) >= max_parts:
            raise PayloadTooLarge(f"multipart body has more than {max_parts} parts")
        start = _after_boundary_line(body, position, len(spans) + 1)
        end = body.find(delimiter, start)
        if end < 0:
            raise BadRequest("multipart body does not end with the closing boundary")
        spans.append((start, end))
        position = end + len(delimiter)
    if not spans:
        raise BadRequest("multipart body has no parts")
    return spans


def _after_boundary_line(body: bytes, position: int, number: int) -> int:
    """Skip the transport padding and CRLF that end a delimiter line."""
    while position < len(body) and body[position] in _WHITESPACE:
        position += 1
    if not body.startswith(CRLF, position):
        raise BadRequest(f"part {number}: boundary line is not followed by CRLF")
    return position + 2


def _split_part(body: bytes, span: Span, number: int) -> tuple[dict[str, str], bytes]:
    """Headers (lower-cased names) and content of one part; a blank line separates them."""
    start, end = span
    if body.startswith(CRLF, start, end):
        return {}, body[start + 2 : end]
    blank = body.find(CRLF + CRLF, start, end)
    if blank < 0:
        raise BadRequest(f"part {number}: no blank line (CRLF CRLF) after the part headers")
    return _parse_headers(body[start:blank], number), body[blank + 4 : end]


def _parse_headers(block: bytes, number: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    name = ""
    for line in block.split(CRLF):
        if _CONTROL.search(line):
            raise BadRequest(f"part {number}: header line {line[:80]!r} has a control character")
        if line[:1] in (b" ", b"\t") and name:  # an obsolete folded continuation line
            headers[name] += " " + line.strip().decode("latin-1")
            continue
        raw_name, colon, value = line.partition(b":")
        if not colon or not raw_name.strip():
            raise BadRequest(f"part {number}: malformed header line {line[:80]!r}")
        name = raw_name.strip().decode("latin-1").lower()
        headers[name] = value.strip().decode("latin-1")
    return headers


def _attachment(body: bytes, span: Span, number: int) -> Attachment:
    headers, content = _split_part(body, span, number)
    sha2 = headers.get(HASH_HEADER)
    if not sha2:
        raise BadRequest(f"part {number}: X-Experience-API-Hash missing")
    encoding = headers.get(TRANSFER_ENCODING_HEADER, "binary")
    if encoding.lower() != "binary":
        raise BadRequest(
            f"part {number}: Content-Transfer-Encoding must be binary, got {encoding!r}"
        )
    if len(sha2) not in _SHA2_BY_HEX_LENGTH or not _HEX.fullmatch(sha2):
        raise BadRequest(f"part {number}: X-Experience-API-Hash {sha2!r} is not a SHA-2 hex digest")
    if not sha2_matches(sha2, content):
        raise BadRequest(
            f"part {number}: X-Experience-API-Hash {sha2} does not match the part's content"
        )
    content_type = headers.get("content-type", "")
    if content_type and not is_mime_type(content_type):
        raise BadRequest(f"part {number}: Content-Type {content_type!r} is not a media type")
    return Attachment(sha2.lower(), content_type, content, headers)


def new_boundary() -> str:
    """A random boundary: 32 hex digits cannot plausibly occur inside an attachment."""
    return f"xapi-{secrets.token_hex(16)}"


def multipart_content_type(boundary: str) -> str:
    """The Content-Type header value of a body built with `build_multipart_mixed`.

    A boundary of token characters (ours always is) goes unquoted: quoting is legal but
    needless, and TinCanJS takes everything after `boundary=` as the boundary, quotes and all.
    """
    if _TOKEN_RE.fullmatch(boundary):
        return f"multipart/mixed; boundary={boundary}"
    return f'multipart/mixed; boundary="{boundary}"'


def build_multipart_mixed(
    statement_json: bytes, attachments: Sequence[Attachment], boundary: str
) -> bytes:
    """The GET /statements response with `attachments=true` (1.0.3 Communication 2.1.3).

    The same transmission format as a request: statements first, then one part per
    attachment with Content-Type, `Content-Transfer-Encoding: binary` and the hash.
    """
    if not _BOUNDARY.fullmatch(boundary):
        raise ValueError(f"{boundary!r} is not an RFC 2046 boundary")
    delimiter = b"--" + boundary.encode("ascii")
    chunks = [delimiter, CRLF, b"Content-Type: application/json", CRLF, CRLF, statement_json]
    for attachment in attachments:
        if CRLF + delimiter in attachment.content or attachment.content.startswith(delimiter):
            raise ValueError(f"boundary {boundary!r} occurs in attachment {attachment.sha2}")
        chunks += [CRLF, delimiter, CRLF, _part_headers(attachment), CRLF, attachment.content]
    chunks += [CRLF, delimiter, b"--", CRLF]
    return b"".join(chunks)


def _part_headers(attachment: Attachment) -> bytes:
    content_type = attachment.content_type
    if not (content_type.isascii() and content_type.isprintable()) or not content_type:
        content_type = "application/octet-stream"  # never let stored text split a header
    lines = (
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        f"X-Experience-API-Hash: {attachment.sha2}\r\n"
    )
    return lines.encode("utf-8")
