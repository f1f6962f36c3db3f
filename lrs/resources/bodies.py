"""Reading request bodies: bounded in size, JSON decoded strictly, multipart split."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from statements.errors import BadRequest, PayloadTooLarge
from statements.json_input import JSONInputError, decode_json
from statements.multipart import parse_multipart_mixed
from statements.types import Attachment


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    # an early refusal only: 20 digits are past any limit, and the stream check below is the bound
    if declared.isascii() and declared.isdigit() and int(declared[:20]) > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes", {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, what: str = "body") -> Any:
    if not body:
        raise BadRequest(f"the {what} is empty; a JSON document is required")
    try:
        return decode_json(body)
    except JSONInputError as error:
        raise BadRequest(f"the {what}: {error.message}", {"rule": error.rule}) from None


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_statements_body(
    request: Request, limit: int, max_parts: int
) -> tuple[Any, list[Attachment], bool]:
    """(decoded JSON, attachment parts, whether the request was multipart)."""
    body = await read_body(request, limit)
    kind = media_type(request)
    if kind == "multipart/mixed":
        first, parts = parse_multipart_mixed(
            body, request.headers["content-type"], max_parts=max_parts
        )
        return parse_json(first, "statement part"), parts, True
    if kind not in ("application/json", ""):
        raise BadRequest(
            f"Content-Type {kind!r} is not accepted: use application/json or multipart/mixed",
            {"rule": "content_type"},
        )
    return parse_json(body), [], False
