"""Bounded `application/x-www-form-urlencoded` bodies, split cheaply and decoded strictly.

The alternate request syntax carries its credential inside the form, so its body is read
before anyone is authenticated. What happens to it then must cost little and be bounded
whatever the sender does:

- the number of fields is counted (`bytes.count`, in C) before anything is split: a form of
  two million `a&` pairs is refused at once instead of becoming two million Python tuples;
- the fields other than the one large field (`content`) together may hold what a request
  line and its headers could (16 KiB), and only they are decoded before authentication;
- the large field stays percent-encoded until the request is authenticated; it is then
  decoded by `percent_decode`, which runs in C (`binascii.a2b_qp`) rather than the
  per-escape Python loop of `urllib.parse.unquote_to_bytes` (5 s for 18 MB of escapes).

Decoding is strict where the stdlib is lenient: a `%` not followed by two hex digits and text
that is not UTF-8 are 400s naming the field, never silently replaced characters.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from statements.errors import BadRequest

MAX_FIELDS = 64
"""More than any request of the alternate syntax needs: 7 headers, `content` and the
parameters of one resource (GET /statements has 16)."""
MAX_SMALL_BYTES = 16 * 1024
"""All fields but the large one, together: what a request line and headers may carry."""


@dataclass(frozen=True, slots=True)
class Form:
    fields: list[tuple[str, str]]
    """Every field but the large one, decoded, in order."""
    large: bytes | None
    """The large field's value as sent (still percent-encoded), or None when absent."""


def split_form(body: bytes, large: str) -> Form:
    """Count, split and decode the small fields; set the field named `large` aside."""
    if body.count(b"&") >= MAX_FIELDS:
        raise BadRequest(
            f"the form has more than {MAX_FIELDS} fields",
            {"rule": "form.fields", "limit": MAX_FIELDS},
        )
    fields: list[tuple[str, str]] = []
    kept: bytes | None = None
    small = 0
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = decode_text(raw_name, "a field name")
        if name == large:
            if kept is not None:
                raise BadRequest(f"the form has more than one {large} field", {"field": large})
            kept = raw_value
            continue
        small += len(pair)
        if small > MAX_SMALL_BYTES:
            raise BadRequest(
                f"the form's fields other than {large} are over {MAX_SMALL_BYTES} bytes",
                {"rule": "form.size", "limit": MAX_SMALL_BYTES},
            )
        fields.append((name, decode_text(raw_value, name)))
    return Form(fields, kept)


def decode_text(raw: bytes, field: str) -> str:
    """A form field's text: percent-decoded, `+` as space, and UTF-8 (400 otherwise)."""
    try:
        return percent_decode(raw, field).decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(field) from None


def decode_utf8(raw: bytes, field: str) -> bytes:
    """A form field's text as UTF-8 bytes, checked but not turned into a `str`."""
    decoded = percent_decode(raw, field)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(field) from None
    return decoded


def _not_utf8(field: str) -> BadRequest:
    return BadRequest(
        f"form field {field!r} is not UTF-8 text once decoded",
        {"rule": "form.utf8", "field": field},
    )


def percent_decode(raw: bytes, field: str) -> bytes:
    """`urllib.parse.unquote_to_bytes(raw.replace(b"+", b" "))`, in C, refusing bad escapes.

    Percent-encoding is quoted-printable with `%` for `=`: literal `=` become `=3D`, `%`
    become `=`, and `binascii.a2b_qp` decodes the escapes. Where they differ (a `%` not
    followed by two hex digits, or followed by a line break, which quoted-printable reads
    as a soft line break) the length tells: every valid escape shortens the text by exactly
    two bytes, and nothing else does.
    """
    plain = raw.replace(b"+", b" ")
    if b"%" not in plain:
        return plain
    decoded = binascii.a2b_qp(plain.replace(b"=", b"=3D").replace(b"%", b"="))
    malformed = b"%\r" in plain or b"%\n" in plain
    if malformed or len(decoded) != len(plain) - 2 * plain.count(b"%"):
        raise BadRequest(
            f"form field {field!r} has a % not followed by two hex digits",
            {"rule": "form.percent_escape", "field": field},
        )
    return decoded


def decoded_length(raw: bytes) -> int:
    """The length `percent_decode(raw)` will have when it succeeds (for Content-Length)."""
    return len(raw) - 2 * raw.count(b"%")


def header_value(name: str, value: str) -> bytes:
    """A form field that becomes a request header: Latin-1 without control characters.

    RFC 9110 5.5 allows visible characters, space, tab and obs-text in a field value; what
    a real header could not carry must not enter the request (nor, stored with a document,
    a later response) through a form field.
    """
    try:
        encoded = value.encode("latin-1")
    except UnicodeEncodeError:
        encoded = b"\x00"
    if any(byte < 0x20 and byte != 0x09 or byte == 0x7F for byte in encoded):
        raise BadRequest(
            f"form field {name!r} is not a valid header value (Latin-1 text without "
            "control characters)",
            {"rule": "form.header_value", "field": name},
        )
    return encoded
