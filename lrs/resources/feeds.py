"""`GET /feeds/completions`: the completion feed (scope `feeds/read` or `admin`).

Thin: check the scope, hand the query parameters to `forwarders.feed.CompletionFeed`, shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forwarders.feed import DEFAULT_LIMIT, MAX_LIMIT, MAX_PARAMETER, CompletionFeed
from lrs.auth.backend import credential_of
from lrs.auth.scopes import ADMIN, FEEDS_READ, require_feeds
from lrs.openapi.operations import Access, Reply, operation
from lrs.openapi.params import IntParam, TextParam
from lrs.openapi.schemas import ANY_OBJECT, STRING, TIMESTAMP, array, nullable, obj
from lrs.responses import XAPIResponse
from lrs.services import Services


def _now() -> datetime:
    return datetime.now(UTC)


QUERY = (
    TextParam(
        "after",
        "The `next` cursor of the previous page (blank: from the start)",
        max_length=MAX_PARAMETER,
    ),
    IntParam("limit", "Events per page", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
    TextParam(
        "forwarder",
        "Only this forwarder's events (its id); 404 when there is none",
        min_length=1,
        max_length=MAX_PARAMETER,
    ),
)
"""What `forwarders.feed.CompletionFeed.page_of` accepts, from the bounds it checks."""
EVENT = obj(
    ("id", "forwarder", "type", "statement_id", "employee_id", "state", "ready", "payload"),
    id=STRING,
    forwarder=STRING,
    type=STRING,
    statement_id=STRING,
    employee_id=nullable(STRING),
    state=STRING,
    ready=TIMESTAMP,
    payload=ANY_OBJECT,
)
PAGE = obj(
    ("events", "next", "more", "consistent_through"),
    events=array(EVENT),
    next=STRING,
    more=nullable(STRING),
    consistent_through=TIMESTAMP,
)


@operation(
    "GET",
    "The completion feed: forwarded events, in the order they became ready",
    tag="feeds",
    access=Access(
        (FEEDS_READ, ADMIN), "xAPI's `all` does not reach it: the feed carries HRIS data."
    ),
    query=QUERY,
    ok=Reply(
        200,
        "A page; `more` is the next page's URL when this one was full",
        PAGE,
        {
            "events": [],
            "next": "f1.WzE3NzI0NDQ4MDAwMDAsbnVsbF0",
            "more": None,
            "consistent_through": "2026-03-01T12:00:00.000Z",
        },
    ),
    errors=(404,),
)
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
