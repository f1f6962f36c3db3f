"""Responses: JSON rendered with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class XAPIResponse(JSONResponse):
    """JSON with orjson; the version header is added for every response by the middleware."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
