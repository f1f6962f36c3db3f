"""Small, pure checkers for the string formats xAPI statements use.

xAPI 1.0.3 Data 2.2 "Formatting Requirements" and 4.0 "Special Data Types and Rules"; xAPI 2.0
Base Standard 4.2.1 "Table Guidelines" and 4.2.7 "Additional Requirements for Data Types".
The spec allows best-effort validation of IRIs and language tags (1.0.3 Data 2.2); what each
checker accepts, and why, is in its docstring. Regexes are compiled once, at import.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
# The characters an IRI may hold (RFC 3987 2.2): unreserved and reserved ASCII, `%`, and every
# code point from U+00A0 on (ucschar, iprivate). Excluded: controls, space, "<>\^`{|} and `#`,
# which may appear once, to start the fragment. A positive class is the fastest to match.
_IRI_CHARS = r"[!$-;=?-\[\]_a-z~\xa0-\U0010ffff]"
_IRI_RE = re.compile(rf"{_SCHEME}:{_IRI_CHARS}+(?:#{_IRI_CHARS}*)?\Z")
_IRL_RE = re.compile(rf"{_SCHEME}://{_IRI_CHARS}")
_BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")

_EMAIL_LOCAL = r"[^\x00-\x20\x7f\s@<>\"(),;:\\\[\]]+"
_EMAIL_LABEL = r"[^\x00-\x20\x7f\s@<>\"(),;:\\\[\]./?#%]+"
_MAILTO_RE = re.compile(rf"mailto:{_EMAIL_LOCAL}@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*\Z")

_UUID_RE = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z"
)
_SHA1_RE = re.compile(r"[0-9A-Fa-f]{40}\Z")
_SHA2_RE = re.compile(r"(?:[0-9A-Fa-f]{56}|[0-9A-Fa-f]{64}|[0-9A-Fa-f]{96}|[0-9A-Fa-f]{128})\Z")

_MIME_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z\-]+"  # an RFC 2045 "token"
# RFC 9110 5.6.4 quoted-string, ASCII only: a media type ends up in headers (a document's
# Content-Type, a multipart part's), so nothing a header could not carry
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
_MIME_PARAMETER = rf"[ \t]*;[ \t]*{_MIME_NAME}=(?:{_MIME_NAME}|{_QUOTED})"
_MIME_RE = re.compile(rf"{_MIME_NAME}/{_MIME_NAME}(?:{_MIME_PARAMETER})*[ \t]*\Z")

# RFC 5646 2.1 (well-formed tags), case-insensitive.
_LANGTAG = (
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language, extlang
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"  # private use
)
_PRIVATE_USE = r"x(?:-[a-z0-9]{1,8})+"
_GRANDFATHERED = (
    r"en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn"
    r"|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de|art-lojban|cel-gaulish|no-bok|no-nyn"
    r"|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_COMMON_LANGUAGE_TAG_RE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2})?\Z")  # fast path: en, en-US
_LANGUAGE_TAG_RE = re.compile(
    rf"(?:{_LANGTAG}|{_PRIVATE_USE}|{_GRANDFATHERED})\Z", re.IGNORECASE | re.ASCII
)

_TIMESTAMP_EXTENDED_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?\Z",
    re.ASCII,
)
_TIMESTAMP_BASIC_RE = re.compile(
    r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?:\d{2})?)?\Z",
    re.ASCII,
)

_DURATION_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION_RE = re.compile(
    rf"P(?!\Z)(?:{_DURATION_NUMBER}Y)?(?:{_DURATION_NUMBER}M)?(?:{_DURATION_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_DURATION_NUMBER}H)?(?:{_DURATION_NUMBER}M)?(?:{_DURATION_NUMBER}S)?)?\Z"
    rf"|P{_DURATION_NUMBER}W\Z",
    re.ASCII,
)
# ISO 8601 allows a decimal fraction on the lowest-order component only.
_FRACTION_NOT_LAST_RE = re.compile(r"[.,]\d+[YMWDHS].*\d", re.ASCII)


def is_iri(value: str) -> bool:
    """An absolute IRI (RFC 3987): a scheme, `:`, then no character an IRI forbids.

    Best effort, as 1.0.3 Data 2.2 permits: a scheme is required (conformance XAPI-00011, so
    relative references and fragments alone fail), `%` must start a percent-encoding, and at
    most one `#` may appear.
    """
    if _IRI_RE.match(value) is None:
        return False
    return "%" not in value or _BAD_PERCENT_RE.search(value) is None


def is_irl(value: str) -> bool:
    """An IRI that locates something: `scheme://` followed by an authority or path."""
    return _IRL_RE.match(value) is not None and is_iri(value)


def is_uri(value: str) -> bool:
    """An absolute URI (openid): an IRI made of ASCII characters only."""
    return value.isascii() and is_iri(value)


def is_mailto_iri(value: str) -> bool:
    """`mailto:` and one address with a local part and a domain (`mailto:a@b.example`)."""
    return _MAILTO_RE.match(value) is not None


def is_uuid(value: str) -> bool:
    """The standard string form 8-4-4-4-12 of hex digits, in either case.

    Version and variant are not checked: the spec only recommends variant 2 ("SHOULD", 2.0
    4.2.7), and rejecting newer versions (UUIDv7 ids are common) would refuse valid data.
    """
    return _UUID_RE.match(value) is not None


def is_sha1_hex(value: str) -> bool:
    """40 hex digits, in either case (an `mbox_sha1sum`)."""
    return _SHA1_RE.match(value) is not None


def is_sha2_hex(value: str) -> bool:
    """The hex digest of a SHA-2 function: 56, 64, 96 or 128 hex digits, in either case."""
    return _SHA2_RE.match(value) is not None


def is_mime_type(value: str) -> bool:
    """An Internet media type (RFC 2045/6838): `type/subtype` with optional parameters."""
    return _MIME_RE.match(value) is not None


def is_language_tag(value: str) -> bool:
    """A well-formed RFC 5646 language tag, case-insensitive (`en-US`, `zh-Hant`, `x-klingon`).

    Checks the sequence of subtag lengths and kinds (the spec's minimum, 1.0.3 Data 2.2), not
    the IANA registry.
    """
    if _COMMON_LANGUAGE_TAG_RE.match(value) is not None:
        return True
    return _LANGUAGE_TAG_RE.match(value) is not None


def is_duration(value: str) -> bool:
    """An ISO 8601:2004 4.4.3.2 duration (`PT4H35M59.14S`, `P3Y`, `P4W`).

    The alternative format of 4.4.3.3 (`P0003-04-06T...`) is refused, as both versions
    require; weeks do not combine with other components; only the last component may carry
    a fraction; `P` and `PT` alone are empty and refused.
    """
    if _DURATION_RE.match(value) is None:
        return False
    return _FRACTION_NOT_LAST_RE.search(value) is None


def parse_timestamp(value: str) -> datetime | None:
    """The aware datetime of an ISO 8601 date-time, or None when `value` is not one.

    Accepts the extended (`2015-01-01T12:00:00.123+02:00`) and basic (`20150101T120000Z`)
    formats, seconds and fractions optional, offsets `Z`, `±hh:mm`, `±hhmm` or `±hh`, and a
    leap second (`:60`, read as the next second). A timestamp without an offset is read as
    UTC: 1.0.3 only says it SHOULD include one, and 2.0 asks the LRS to convert to UTC rather
    than reject. A negative zero offset (`-00:00`, `-0000`, `-00`) means "unknown local
    offset" in RFC 3339 and is refused, as the conformance suite requires for both versions.
    """
    match = _TIMESTAMP_EXTENDED_RE.match(value) or _TIMESTAMP_BASIC_RE.match(value)
    if match is None:
        return None
    offset = match[8]
    if offset is not None and offset[0] == "-" and not offset.strip("-:0"):
        return None
    if match[6] == "60" or not value.isupper():
        return _parse_unusual(match)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if offset is not None else moment.replace(tzinfo=UTC)


def stored_utc(moment: datetime) -> datetime:
    """A time read back from the database: naive unless the client is `tz_aware`, and
    always UTC there."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc_instant(moment: datetime) -> datetime:
    """`moment` in UTC, for a query bound: instants past `datetime`'s range become its ends.

    `9999-12-31T23:59:59-23:00` parses but lies in the year 10000, which neither `datetime`
    nor a BSON date holds; as a `since` or `until` it means "after everything" (and
    `0001-01-01T00:00:00+23:00` "before everything"), so the bound is clamped, not refused.
    """
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        end = datetime.max if moment.year == datetime.max.year else datetime.min
        return end.replace(tzinfo=UTC)


def _parse_unusual(match: re.Match[str]) -> datetime | None:
    """Leap seconds and lower-case `t`/`z`, which `datetime.fromisoformat` refuses."""
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    seconds = int(second) if second else 0
    leap = seconds == 60
    zone = _zone(offset)
    if zone is None:
        return None
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), 59 if leap else seconds,
            int(fraction[:6].ljust(6, "0")) if fraction else 0, zone,
        )  # fmt: skip
    except ValueError:
        return None
    return moment + timedelta(seconds=1) if leap else moment


def _zone(offset: str | None) -> timezone | None:
    if offset is None or offset in ("Z", "z"):
        return UTC
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if offset[0] == "-" else delta)


_VERSION_1_0_RE = re.compile(
    r"1\.0(?:\.\d+(?:-[0-9A-Za-z.\-]+)?(?:\+[0-9A-Za-z.\-]+)?)?\Z", re.ASCII
)
_VERSION_2_0_RE = re.compile(
    r"[12]\.0(?:\.\d+(?:-[0-9A-Za-z.\-]+)?(?:\+[0-9A-Za-z.\-]+)?)?\Z", re.ASCII
)


def is_statement_version(value: str, spec: str) -> bool:
    """Whether a statement's `version` property is acceptable under spec `spec`.

    1.0.3 (Data 2.4.10): the LRS MUST accept versions starting with `1.0.` and reject the
    rest; the conformance suite also accepts `1.0`. 2.0 keeps accepting 1.0.x statements (the
    2.0 suite posts `1.0` and `1.0.9` and expects 200) and adds `2.0.x` ("always 2.0.0" for a
    2.0 statement, but the LRS "should not reject" over the version alone).
    """
    pattern = _VERSION_2_0_RE if spec.startswith("2.") else _VERSION_1_0_RE
    return pattern.match(value) is not None
