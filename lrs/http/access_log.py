"""One access-log line and the HTTP metrics for every request.

Requests are labelled by their route template (`/xapi/statements`,
`/admin/forwarders/{forwarder_id}`), never by the raw path, so log queries group naturally
and metric label values stay bounded whatever clients send. The template is found by
matching the app's routes here, at the edge, so a request refused before routing (401,
429, 413) is still labelled with the route it asked for.

The credential key (never the secret) is noted by middleware that runs after authentication
(`note_credential`), in a holder the edge layer puts in the scope: a holder, because inner
middleware may hand a copy of the scope down (the alternate request syntax does).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from lrs.logs import with_fields
from lrs.metrics import Metrics

log = logging.getLogger("lrs.http.access_log")
UNMATCHED = "<unmatched>"
HOLDER = "lrs.http.access_log"
MAX_REMEMBERED = 1024
"""Request lines whose route template is remembered: matching every route of the app took 5 %
of a single statement's API time. Past this many (paths with ids in them) it starts over."""


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The path template of the route that serves `scope`, or `<unmatched>`."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner = route_template(route.routes, {**scope, **child})
            if inner != UNMATCHED:
                return route.path + inner
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if match is Match.FULL:
            return path
        partial = partial or path  # the path matched, the method did not (a 405)
    return partial or UNMATCHED


def note_credential(scope: Scope, key: str) -> None:
    """Record which credential a request authenticated with, for the access log."""
    holder = scope.get(HOLDER)
    if isinstance(holder, dict):
        holder["credential"] = key


class AccessLog:
    """Records a finished request: the HTTP metrics and, when on, its access-log line.

    Called by the edge layer (`lrs.http.edge`), which times the request and notes its status.
    """

    def __init__(self, routes: Sequence[BaseRoute], metrics: Metrics, enabled: bool = True) -> None:
        self.routes = routes
        self.metrics = metrics
        self.enabled = enabled
        self._templates: dict[tuple[str, str, str], str] = {}

    @staticmethod
    def request_line(scope: Scope) -> Scope:
        """What the log labels a request by, as received: routing rewrites `root_path` and
        `path_params` in place."""
        return {
            "type": scope["type"],
            "method": scope["method"],
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
        }

    def _template(self, request: Scope) -> str:
        """`route_template`, remembered per method and path (the routes never change)."""
        line = (request["method"], request["root_path"], request["path"])
        route = self._templates.get(line)
        if route is None:
            if len(self._templates) >= MAX_REMEMBERED:
                self._templates.clear()
            route = self._templates[line] = route_template(self.routes, request)
        return route

    def record(
        self, request: Scope, scope: Scope, status: int, seconds: float, credential: str | None
    ) -> None:
        method: str = request["method"]
        route = self._template(request)
        self.metrics.observe_request(method, route, status, seconds)
        if not self.enabled:
            return
        client = scope.get("client")
        fields = with_fields(
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            credential=credential,
            client=client[0] if client else None,
        )
        log.info("%s %s %s %.1f ms", method, route, status, seconds * 1000, extra=fields)
