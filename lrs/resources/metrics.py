"""`GET /metrics`: Prometheus text format, for a credential with scope `metrics` or `admin`.

Prometheus scrapes with HTTP Basic (`basic_auth` in its scrape config), so the scraper gets
a credential of its own with only the `metrics` scope.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.auth.backend import credential_of
from lrs.auth.scopes import ADMIN, METRICS
from lrs.metrics import CONTENT_TYPE
from lrs.services import Services
from statements.errors import Forbidden


async def metrics(request: Request) -> Response:
    credential = credential_of(request.scope)
    if not credential.has_any({METRICS, ADMIN}):
        raise Forbidden(
            "/metrics needs the metrics or admin scope", {"required_any": [METRICS, ADMIN]}
        )
    services: Services = request.state.services
    await services.metrics.refresh_queue(services.client[services.settings.database])
    return Response(services.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
