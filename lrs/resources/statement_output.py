"""Shaping statements for GET: formats, the StatementResult body, multipart with attachments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import orjson
from starlette.responses import Response

from lrs.storage.sequence import ms_of
from statements.canonical import canonical_format, ids_format
from statements.multipart import build_multipart_mixed, multipart_content_type, new_boundary
from statements.types import Attachment, StatementFormat, StoredStatement


def render_statement(raw: str, fmt: StatementFormat, languages: Sequence[str]) -> bytes:
    """`exact` is the stored text itself; the other formats re-shape a parsed copy."""
    if fmt == "exact":
        return raw.encode()
    statement = orjson.loads(raw)
    shaped = ids_format(statement) if fmt == "ids" else canonical_format(statement, languages)
    return orjson.dumps(shaped)


def result_body(
    statements: Sequence[StoredStatement],
    fmt: StatementFormat,
    languages: Sequence[str],
    more: str,
) -> bytes:
    rendered = b",".join(render_statement(s.raw, fmt, languages) for s in statements)
    return b'{"statements":[' + rendered + b'],"more":' + orjson.dumps(more) + b"}"


def http_date(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, tz=UTC), usegmt=True)


def iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def last_modified(statements: Sequence[StoredStatement], fallback_ms: int) -> str:
    newest = max((ms_of(s.seq) for s in statements), default=fallback_ms)
    return http_date(newest)


def json_or_multipart(
    body: bytes, attachments: Sequence[Attachment] | None, headers: dict[str, str]
) -> Response:
    """application/json, or multipart/mixed with the attachments when they were asked for."""
    if attachments is None:
        return Response(body, headers=headers, media_type="application/json")
    boundary = new_boundary()
    content = build_multipart_mixed(body, attachments, boundary)
    return Response(content, headers=headers, media_type=multipart_content_type(boundary))
