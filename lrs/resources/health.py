"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers)."""

from __future__ import annotations

import asyncio

from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import Response

from lrs.responses import XAPIResponse
from lrs.services import Services


async def healthz(request: Request) -> Response:
    return XAPIResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services: Services = request.state.services
    try:
        await asyncio.wait_for(services.client.admin.command("ping"), timeout=2.0)
    except (PyMongoError, TimeoutError) as error:
        return XAPIResponse({"status": "unavailable", "reason": type(error).__name__}, 503)
    return XAPIResponse({"status": "ok"})
