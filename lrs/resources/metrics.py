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
from lrs.openapi.operations import Access, Reply, operation
from lrs.services import Services
from statements.errors import Forbidden


@operation(
    "GET",
    "Prometheus metrics",
    tag="metrics",
    access=Access((METRICS, ADMIN), "A scraper's credential needs only `metrics`."),
    ok=Reply(
        200,
        "The Prometheus text exposition format",
        {"type": "string"},
        "# TYPE lrs_statements_stored_total counter\nlrs_statements_stored_total 1200\n",
        media_types=("text/plain",),
    ),
)
async def metrics(request: Request) -> Response:
    credential = credential_of(request.scope)
    if not credential.has_any({METRICS, ADMIN}):
        raise Forbidden(
            "/metrics needs the metrics or admin scope", {"required_any": [METRICS, ADMIN]}
        )
    services: Services = request.state.services
    await services.metrics.refresh_queue(services.client[services.settings.database])
    return Response(services.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})
