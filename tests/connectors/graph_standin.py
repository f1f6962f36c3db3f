"""A stand-in for Microsoft Graph and its token endpoint: a Starlette app served by uvicorn in
a thread on 127.0.0.1, answering the recorded shapes of tests/data/connectors/graph/.

It checks what the real services check (the client credentials grant and its form fields, the
bearer token on every Graph call), records every request, and can be told to throttle (429
with `Retry-After`) or to revoke the token it issued.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lrs.storage.embedded import free_port

DATA = Path(__file__).resolve().parent.parent / "data" / "connectors" / "graph"
REAL_GRAPH = "https://graph.microsoft.com/v1.0"
TENANT = "contoso-tenant"
CLIENT_ID = "app-1234"
CLIENT_SECRET = "graph-app-secret"
ORGANIZER = "dc17674c-81d9-4adb-bfb2-8f6a442e4622"
MEETING = "MSpkYzE3Njc0Yy04MWQ5LTRhZGItYmZiMi04ZjZhNDQyZTQ2MjIqMCoqMTk6bWVldGluZ19OakU0"
REPORT = "ae6ddf54-5d48-4448-a7a9-780eee17fa13"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


@dataclass
class Seen:
    method: str
    path: str
    query: str
    authorization: str


@dataclass
class GraphStandIn:
    port: int = field(default_factory=free_port)
    requests: list[Seen] = field(default_factory=list)
    throttle: list[str] = field(default_factory=list)
    """`Retry-After` values of the next Graph answers, each a 429 (then normal answers)."""
    revoked: set[str] = field(default_factory=set)
    issued: int = 0

    def __post_init__(self) -> None:
        routes = [
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route("/v1.0/users/{user}/onlineMeetings/{meeting}/attendanceReports", self.reports),
            Route(
                "/v1.0/users/{user}/onlineMeetings/{meeting}/attendanceReports/{report}"
                "/attendanceRecords",
                self.records,
            ),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            ws="none",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        return self.base + "/v1.0"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Graph stand-in did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def calls(self, suffix: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path.endswith(suffix)]

    # -- the token endpoint ----------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self._seen(request)
        good = (
            request.path_params["tenant"] == TENANT
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
            and form.get("scope") == "https://graph.microsoft.com/.default"
        )
        if not good:
            return JSONResponse(recorded("token_invalid_client.json"), 401)
        self.issued += 1
        body = recorded("token.json")
        body["access_token"] += f".{self.issued}"
        return JSONResponse(body)

    # -- Graph -------------------------------------------------------------------------------

    def _refused(self, request: Request) -> Response | None:
        self._seen(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or not token.startswith("eyJ") or token in self.revoked:
            body = {
                "error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}
            }
            return JSONResponse(body, 401)
        if self.throttle:
            headers = {"Retry-After": self.throttle.pop(0)}
            return JSONResponse(recorded("throttled.json"), 429, headers=headers)
        known = (request.path_params["user"], request.path_params["meeting"])
        if known != (ORGANIZER, MEETING):
            body = {"error": {"code": "NotFound", "message": "The meeting was not found."}}
            return JSONResponse(body, 404)
        return None

    async def reports(self, request: Request) -> Response:
        return self._refused(request) or JSONResponse(
            self._here(recorded("attendance_reports.json"))
        )

    async def records(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        page = 2 if request.query_params.get("$skiptoken") == "page-2" else 1
        return JSONResponse(self._here(recorded(f"attendance_records_page{page}.json")))

    def _here(self, body: dict[str, Any]) -> dict[str, Any]:
        """The recorded links, pointing at this stand-in instead of graph.microsoft.com."""
        if "@odata.nextLink" in body:
            body["@odata.nextLink"] = body["@odata.nextLink"].replace(REAL_GRAPH, self.graph_url)
        return body

    def _seen(self, request: Request) -> None:
        self.requests.append(
            Seen(
                request.method,
                request.url.path,
                request.url.query,
                request.headers.get("authorization", ""),
            )
        )
