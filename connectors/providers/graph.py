"""Pulling Teams attendance from Microsoft Graph (learn.microsoft.com).

- Token: OAuth 2.0 client credentials ("Get access without a user"):
  `POST {login}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`,
  `client_id`, `client_secret`, `scope=https://graph.microsoft.com/.default` → `{"access_token",
  "expires_in"}`. Kept until a minute before it expires, fetched again once on a 401.
- Reports: `GET /users/{organizer}/onlineMeetings/{meeting}/attendanceReports` and
  `.../attendanceReports/{report}/attendanceRecords` ("List meetingAttendanceReports", "List
  attendanceRecords"; application permission OnlineMeetingArtifact.Read.All with an
  application access policy for the organizer). Collections come as `{"value": [...],
  "@odata.nextLink": URL}` pages.
- Throttling ("Microsoft Graph throttling guidance"): 429 (and 503) carry `Retry-After` in
  seconds; the client waits that long, at most `max_wait` a time and `max_retries` times.

Bounded everywhere: pages per collection, retries, the wait. A `@odata.nextLink` must stay on
the Graph origin the client was given, so the bearer token never goes anywhere else. The
HTTP exchange itself is declared (`Http`) and supplied by `lrs`, as the statement sink is.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Http(Protocol):
    """One HTTP exchange, redirects not followed (`lrs` implements it with httpx)."""

    async def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None = None,
    ) -> HttpAnswer: ...


class GraphError(Exception):
    """Graph or its token endpoint refused, or kept throttling past the bound."""


@dataclass(frozen=True, slots=True)
class GraphCredentials:
    tenant: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"GraphCredentials(tenant={self.tenant!r}, client_id={self.client_id!r}, ...)"


class GraphClient:
    def __init__(
        self,
        credentials: GraphCredentials,
        http: Http,
        *,
        graph_url: str = GRAPH_URL,
        login_url: str = LOGIN_URL,
        max_pages: int = 100,
        max_retries: int = 4,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.graph_url = graph_url.rstrip("/")
        self.login_url = login_url.rstrip("/")
        self.max_pages = max_pages
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        self._token: tuple[str, float] | None = None

    # -- the documented calls ----------------------------------------------------------------

    def _meeting_path(self, organizer: str, meeting: str) -> str:
        return f"{self.graph_url}/users/{quote(organizer, safe='')}/onlineMeetings/" + quote(
            meeting, safe=""
        )

    async def attendance_reports(self, organizer: str, meeting: str) -> list[dict[str, Any]]:
        """The meeting's attendance reports (one per occurrence), newest first as Graph lists."""
        return await self.collection(self._meeting_path(organizer, meeting) + "/attendanceReports")

    async def attendance_records(
        self, organizer: str, meeting: str, report_id: str
    ) -> list[dict[str, Any]]:
        path = self._meeting_path(organizer, meeting)
        return await self.collection(
            f"{path}/attendanceReports/{quote(report_id, safe='')}/attendanceRecords"
        )

    async def report(
        self, organizer: str, meeting: str, summary: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A listed report with its records: the `meetingAttendanceReport` shape with
        `attendanceRecords` expanded, as `import-report` and `reconcile` take it."""
        report_id = summary.get("id")
        if not isinstance(report_id, str) or not report_id:
            raise GraphError("an attendance report without an id")
        records = await self.attendance_records(organizer, meeting, report_id)
        return {**summary, "attendanceRecords": records}

    # -- paging, tokens and throttling -------------------------------------------------------

    async def collection(self, url: str) -> list[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink` (bounded)."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(self.max_pages):
            if next_url is None:
                return items
            page = await self.get(next_url)
            value = page.get("value")
            if not isinstance(value, list):
                raise GraphError(f"{_path(next_url)}: the answer has no value array")
            items.extend(item for item in value if isinstance(item, dict))
            next_url = self._next(page.get("@odata.nextLink"))
        if next_url is not None:
            raise GraphError(f"{_path(url)}: more than {self.max_pages} pages")
        return items

    def _next(self, link: Any) -> str | None:
        if link is None:
            return None
        if not isinstance(link, str) or _origin(link) != _origin(self.graph_url):
            raise GraphError("@odata.nextLink leaves the Graph origin; not followed")
        return link

    async def get(self, url: str) -> dict[str, Any]:
        """One Graph GET: a 401 fetches a new token once; 429/503 wait and retry (bounded)."""
        retries, refreshed = 0, False
        while True:
            token = await self.token()
            headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
            answer = await self.http("GET", url, headers=headers)
            if answer.status == 401 and not refreshed:
                self._token, refreshed = None, True
                continue
            if answer.status not in RETRY_STATUSES:
                return _json(answer, _path(url))
            if retries == self.max_retries:
                raise GraphError(f"{_path(url)}: still throttled after {retries} retries")
            await self.sleep(self._wait(answer.headers.get("retry-after"), retries))
            retries += 1

    def _wait(self, retry_after: str | None, attempt: int) -> float:
        """Graph's own `Retry-After` (seconds); without one, 1, 2, 4... seconds."""
        try:
            wanted = float(retry_after) if retry_after is not None else float(2**attempt)
        except ValueError:
            wanted = float(2**attempt)
        return min(max(wanted, 0.0), self.max_wait)

    async def token(self) -> str:
        if self._token is not None and self.clock() < self._token[1]:
            return self._token[0]
        creds = self.credentials
        url = f"{self.login_url}/{quote(creds.tenant, safe='')}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "scope": SCOPE,
        }
        answer = await self.http("POST", url, headers={"accept": "application/json"}, form=form)
        body = _json(answer, "the token endpoint")
        token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise GraphError("the token endpoint answered without an access_token")
        self._token = (token, self.clock() + max(float(lifetime) - 60.0, 0.0))
        return token


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _path(url: str) -> str:
    """For messages: the path only (a nextLink's query may carry a skip token)."""
    return urlsplit(url).path


def _json(answer: HttpAnswer, what: str) -> dict[str, Any]:
    try:
        body = json.loads(answer.body) if answer.body else {}
    except ValueError:
        body = None
    if answer.status >= 300:
        detail = _error_of(body)
        raise GraphError(f"{what}: HTTP {answer.status}{': ' + detail if detail else ''}")
    if not isinstance(body, dict):
        raise GraphError(f"{what}: the answer is not a JSON object")
    return body


def _error_of(body: Any) -> str:
    """Graph's `{"error": {"code", "message"}}` or the token endpoint's `error_description`."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('code', '')} {error.get('message', '')}".strip()[:300]
    return str(body.get("error_description") or error or "")[:300]
