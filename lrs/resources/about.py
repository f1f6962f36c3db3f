"""The About Resource (1.0.3 Communication 2.8, 2.0 4.1.6.7): no authentication required.

`version` lists the versions this LRS speaks, in the family the client asked for: a request
whose X-Experience-API-Version is 1.0.x gets only the 1.0.x versions. 1.0.x clients were
written before 2.0 existed, and some (TinCanPython) refuse an About whose list holds a
version they do not know; each version's spec only requires its own family to be listed
("at least one string of 1.0.x" in 1.0.3), so a 2.0 client, or one that names no version,
gets every version, 2.0.0 first (docs/statements.md).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs import __version__
from lrs.http.middleware import VERSION_HEADER
from lrs.responses import XAPIResponse

SUPPORTED_VERSIONS = ["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]
VERSIONS_1_0 = [version for version in SUPPORTED_VERSIONS if version.startswith("1.0.")]


def versions_for(requested: str | None) -> list[str]:
    """The version list a client asking for `requested` can read."""
    if requested is not None and (requested == "1.0" or requested.startswith("1.0.")):
        return VERSIONS_1_0
    return SUPPORTED_VERSIONS


async def about(request: Request) -> Response:
    body = {
        "version": versions_for(request.headers.get(VERSION_HEADER)),
        "extensions": {"https://github.com/lrs/lrs/about/version": __version__},
    }
    return XAPIResponse(body)
