"""Fuzzing the console: generated paths, query strings and forms never get a 5xx.

A signed-in admin (the most the console lets anyone do) sends every console route random
path segments, query parameters named like the ones the pages read (with hostile values:
empty, huge, control characters, JSON where text is expected and text where JSON is,
impossible dates, path traversal) and forms with the session's CSRF token, some with an
uploaded file. Every answer must be below 500: a bad value is the visitor's mistake and
gets a page saying so. The database is shared by all examples of a test, so nothing
depends on what an earlier example stored.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.console.conftest import SignIn, csrf_of

pytestmark = pytest.mark.slow  # a few hundred generated requests per test

FUZZ = settings(
    deadline=None,
    database=None,
    max_examples=500,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STATUSES: Counter[int] = Counter()

GET_PATHS = [
    "/console/",
    "/console/statements",
    "/console/statements/{a}/void",
    "/console/credentials",
    "/console/credentials/{a}/revoke",
    "/console/forwarders",
    "/console/forwarders/{a}",
    "/console/forwarders/{a}/events/{b}",
    "/console/forwarders/{a}/rotate",
    "/console/forwarders/{a}/preview",
    "/console/learners",
    "/console/identities",
    "/console/exports",
    "/console/exports/{a}",
    "/console/exports/{a}/files/{b}",
    "/console/erasure",
    "/console/audit",
    "/console/login",
    "/console/oidc/start",
    "/console/oidc/callback",
]
POST_PATHS = [
    "/console/statements/{a}/void",
    "/console/credentials",
    "/console/credentials/{a}/revoke",
    "/console/forwarders/{a}/replay",
    "/console/forwarders/{a}/replay-selection",
    "/console/forwarders/{a}/events/{b}/replay",
    "/console/forwarders/{a}/rotate",
    "/console/forwarders/{a}/replay-range",
    "/console/identities/preview",
    "/console/identities/import",
    "/console/identities/redrive",
    "/console/exports",
    "/console/erasure/dry-run",
    "/console/erasure",
]
NAMES = [
    "action", "activity", "actor", "after", "agent", "before", "columns", "confirm", "cursor",
    "end", "event", "file", "filters", "format", "include_voided", "key", "limit", "name",
    "overlap_hours", "q", "registration", "related_activities", "related_agents", "scopes",
    "settle_seconds", "since", "start", "statement", "until", "upload", "verb", "voided",
    "code", "state", "error", "ascending", "page", "target", "id",
]  # fmt: skip
HOSTILE = [
    "", " ", "0", "-1", "1e309", "NaN", "true", "null", "{}", "[]", "[1]", '{"a":', "%",
    "%00", "\x00", "\r\n", "é" * 300, "a" * 5000, "9" * 40, "../../../etc/passwd",
    "$where", "{\"$gt\": \"\"}", "2026-13-45T99:99:99Z", "2026-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", '{"mbox":"mailto:a@example.org"}',
    '{"objectType":"Group","member":[]}', '{"account":{"homePage":"x","name":1}}',
    "http://adlnet.gov/expapi/verbs/completed", "mailto:a@example.org", "B3",
    "00000000-0000-0000-0000-000000000000", "all", "admin statements/read", "csv", "ndjson",
]  # fmt: skip
KNOWN = ["<statement>", "<forwarder>", "<event>", "<export>", "<file>"]
"""Stand-ins for ids that exist (see `operator`), so pages past the look-up are reached."""
values = st.one_of(st.sampled_from(HOSTILE + KNOWN), st.text(max_size=40))
segments = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(HOSTILE[:20] + ["x", "1", "a.b"]),
    st.text(max_size=20),
)
params = st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=6)


def known(value: str, ids: dict[str, str]) -> str:
    return ids.get(value, value)


def fill(template: str, a: str, b: str, ids: dict[str, str]) -> str:
    a, b = known(a, ids) or "x", known(b, ids) or "x"
    return template.replace("{a}", quote(a, safe="")).replace("{b}", quote(b, safe=""))


def record(answer: httpx.Response, what: str) -> None:
    STATUSES[answer.status_code] += 1
    assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.text[:300]}"


@pytest.fixture(scope="module", autouse=True)
def report_count(request: pytest.FixtureRequest) -> Any:
    """Adds "console fuzz: answers by status" to the terminal summary once this module ran."""

    class Summary:
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
            terminalreporter.write_line(f"console fuzz: answers by status: {statuses}")

    yield
    if STATUSES:
        request.config.pluginmanager.register(Summary(), "console-fuzz-summary")


@pytest.fixture
async def operator(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    services: Any,
    client: httpx.AsyncClient,
    make_statement: Any,
    make_forwarder: Any,
    admin: Any,
) -> dict[str, str]:
    """Signed in as an admin whose key no generated value names, with a statement, a
    forwarder and its event, and a finished export to find: their ids by stand-in, and the
    session's CSRF token."""
    stored = await client.post("/xapi/statements", json=make_statement())
    forwarder = await make_forwarder("fuzz-hook")
    event = await admin.send_test_event(forwarder["id"])
    export = await client.post("/admin/exports", json={"format": "csv", "settle_seconds": 0})
    key, secret = await services.credentials.create("Fuzzer", ["all", "admin"])
    await sign_in(key, secret)
    return {
        "<statement>": stored.json()[0],
        "<forwarder>": forwarder["id"],
        "<event>": event.id,
        "<export>": str(export.json().get("id", "none")),
        "<file>": "statements.csv",
        "csrf": csrf_of(await browser.get("/console/credentials")),
    }


@FUZZ
@given(template=st.sampled_from(GET_PATHS), a=segments, b=segments, query=params)
async def test_random_console_pages_never_get_a_5xx(
    browser: httpx.AsyncClient,
    operator: dict[str, str],
    template: str,
    a: str,
    b: str,
    query: list[tuple[str, str]],
) -> None:
    path = fill(template, a, b, operator)
    query = [(name, known(value, operator)) for name, value in query]
    answer = await browser.get(path, params=query)
    record(answer, f"GET {path} {query!r}")


@FUZZ
@given(
    template=st.sampled_from(POST_PATHS),
    a=segments,
    b=segments,
    form=params,
    upload=st.one_of(st.none(), st.binary(max_size=300), st.sampled_from(HOSTILE).map(str.encode)),
)
async def test_random_console_forms_never_get_a_5xx(
    browser: httpx.AsyncClient,
    operator: dict[str, str],
    template: str,
    a: str,
    b: str,
    form: list[tuple[str, str]],
    upload: bytes | None,
) -> None:
    path = fill(template, a, b, operator)
    data: dict[str, Any] = {}
    for name, value in form:
        data.setdefault(name, []).append(known(value, operator))
    data["csrf"] = operator["csrf"]
    files = None if upload is None else {"file": ("people.csv", upload, "text/csv")}
    answer = await browser.post(path, data=data, files=files)
    record(answer, f"POST {path} {form!r} file={upload!r:.80}")
    if answer.status_code == 303:  # a signed-in form answered with the sign-in form: no
        assert answer.headers["location"] != "/console/login", "the session was lost"
