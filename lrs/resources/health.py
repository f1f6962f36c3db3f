"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers)."""

from __future__ import annotations

import asyncio

from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import Response

from lrs.openapi.operations import PUBLIC, Reply, operation
from lrs.openapi.schemas import STRING, obj
from lrs.responses import XAPIResponse
from lrs.services import Services

STATUS = obj(("status",), status={"enum": ["ok", "unavailable"]}, reason=STRING)


@operation(
    "GET",
    "Liveness: the process answers",
    tag="health",
    access=PUBLIC,
    ok=Reply(200, "Alive", STATUS, {"status": "ok"}),
)
async def healthz(request: Request) -> Response:
    return XAPIResponse({"status": "ok"})


@operation(
    "GET",
    "Readiness: the database answers within 2 s",
    tag="health",
    access=PUBLIC,
    ok=(
        Reply(200, "Ready", STATUS, {"status": "ok"}),
        Reply(503, "The database does not answer", STATUS, {"status": "unavailable"}),
    ),
)
async def readyz(request: Request) -> Response:
    services: Services = request.state.services
    try:
        await asyncio.wait_for(services.client.admin.command("ping"), timeout=2.0)
    except (PyMongoError, TimeoutError) as error:
        return XAPIResponse({"status": "unavailable", "reason": type(error).__name__}, 503)
    return XAPIResponse({"status": "ok"})
