"""The aggregate endpoints under /analytics (scope `analytics/read` or `admin`; docs/analytics.md).

Thin: check the scope, parse with `analytics.params` (a 400 names the field and the rule),
answer from `analytics.service.Analytics`, which reads rollups only. Every answer says how
far the rollups have got (`through`: every statement stored before it is counted).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics import params
from analytics.service import Analytics
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_analytics
from lrs.erasure import parse_agent
from lrs.resources.analytics_contract import (
    GROUPS,
    LEARNER,
    MAX_LEARNER_PAGE,
    SUMMARY,
    TIMESERIES,
)
from lrs.responses import XAPIResponse
from lrs.services import Services
from lrs.storage.sequence import ms_of, stored_string
from statements.index import agent_key


async def _analytics(request: Request) -> tuple[Analytics, dict[str, Any]]:
    require_analytics(credential_of(request.scope))
    services: Services = request.state.services
    cursor = await services.analytics.through()
    return services.analytics, {"through": _through(cursor)}


@lru_cache(maxsize=16)
def _through(cursor: int) -> str:
    """The cursor as a `stored` timestamp, formatted once per cursor: it moves every few
    seconds at most, and formatting it (a `strftime`) was 2 % of a memoised answer's CPU."""
    return stored_string(ms_of(cursor))


@SUMMARY
async def activity_summary(request: Request) -> Response:
    analytics, meta = await _analytics(request)
    query = request.query_params
    activity = params.activity(query.get("activity"))
    since, until, bounded = params.window(query.get("since"), query.get("until"))
    answer = await analytics.summary(activity, since, until, bounded)
    return XAPIResponse({**answer, **_window(query), **meta})


@TIMESERIES
async def activity_timeseries(request: Request) -> Response:
    analytics, meta = await _analytics(request)
    query = request.query_params
    activity = params.activity(query.get("activity"))
    interval = params.interval(query.get("interval"))
    since, until, _ = params.window(query.get("since"), query.get("until"))
    cursor = params.cursor_day(query.get("cursor"))
    answer = await analytics.timeseries(activity, interval, since, until, cursor)
    return XAPIResponse({**answer, **_window(query), **meta})


@GROUPS
async def activity_groups(request: Request) -> Response:
    analytics, meta = await _analytics(request)
    query = request.query_params
    activity = params.activity(query.get("activity"))
    column = params.group_by(query.get("group_by"), analytics.people.columns)
    since, until, _ = params.window(query.get("since"), query.get("until"))
    answer = await analytics.groups(activity, column, since, until)
    return XAPIResponse({**answer, **_window(query), **meta})


@LEARNER
async def learner_activities(request: Request) -> Response:
    analytics, meta = await _analytics(request)
    query = request.query_params
    raw = query.get("agent")
    if not raw:
        raise params.invalid("agent", "required", "an Agent (JSON) is required")
    try:
        agent = parse_agent(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise params.invalid("agent", "json", "must be a JSON Agent object") from None
    key = agent_key(agent)
    if key is None:
        raise params.invalid("agent", "ifi", "must carry an inverse functional identifier")
    limit = params.limit(query.get("limit"), MAX_LEARNER_PAGE)
    answer = await analytics.learner(key, query.get("cursor"), limit)
    return XAPIResponse({**answer, **meta})


def _window(query: Any) -> dict[str, Any]:
    return {"since": query.get("since"), "until": query.get("until")}


ROUTES = [
    Route("/activities/summary", activity_summary, methods=["GET"]),
    Route("/activities/timeseries", activity_timeseries, methods=["GET"]),
    Route("/activities/groups", activity_groups, methods=["GET"]),
    Route("/learners/activities", learner_activities, methods=["GET"]),
]
