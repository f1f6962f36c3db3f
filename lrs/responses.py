"""Responses: JSON rendered with orjson, and raw statement bytes passed through untouched."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class XAPIResponse(JSONResponse):
    """JSON with orjson; the version header is added for every response by the middleware."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_bytes_response(
    body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON body already serialised (statements are served as stored, byte for byte)."""
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)
