"""`GET /feeds/completions`: the completion feed (scope `feeds/read` or `admin`).

Thin: check the scope, hand the query parameters to `forwarders.feed.CompletionFeed`, shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forwarders.feed import CompletionFeed
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_feeds
from lrs.responses import XAPIResponse
from lrs.services import Services


def _now() -> datetime:
    return datetime.now(UTC)


async def completions(request: Request) -> Response:
    require_feeds(credential_of(request.scope))
    services: Services = request.state.services
    feed = CompletionFeed(
        services.client[services.settings.database],
        services.forwarders.store,
        settle_seconds=services.forwarding.feed_settle_seconds,
        clock=_now,
    )
    page = await feed.page_of(request.query_params)
    return XAPIResponse(page.as_dict(request.url.path))


ROUTES = [Route("/completions", completions, methods=["GET"])]
