"""The About Resource (1.0.3 Communication 2.8, 2.0 4.1.6.7): no authentication required."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs import __version__
from lrs.responses import XAPIResponse

SUPPORTED_VERSIONS = ["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]


async def about(request: Request) -> Response:
    body = {
        "version": SUPPORTED_VERSIONS,
        "extensions": {"https://github.com/lrs/lrs/about/version": __version__},
    }
    return XAPIResponse(body)
