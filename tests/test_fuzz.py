"""Fuzzing the real app: hypothesis-generated bad and random requests never get a 5xx.

Each test drives the app of the `client` fixture (real embedded database, all-scope
credential) with generated requests: statements mutated from a valid one (wrong types,
missing and extra properties, operator-like keys such as `$where` at any depth, huge and
unicode strings, deep nesting), random query parameters for GET /xapi/statements, random
document-resource parameters and bodies, random version / content-type / precondition
headers, and random admin API requests (ids, actions, bodies, parameters). Every answer
must be below 500, and every 4xx must carry the JSON error body `{"error", "message", ...}`.
The database is shared by all examples of a test (nothing is reset between them), so the
assertions hold whatever was stored before; no example depends on another.

The number of requests and the answers by status are printed in the terminal summary
("fuzz: N requests"). Budget: about 40 s on a developer machine for about 9,600 requests
(`max_examples` below). Bugs it found are pinned by regression tests next to their
resources (`limit=²` on GET /xapi/statements and /admin/events; ill-typed admin bodies).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from statements.query import FILTER_PARAMS, SINGLE_PARAMS, encode_cursor

pytestmark = pytest.mark.slow  # about 80 s: thousands of generated requests

SENT: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()

FUZZ = settings(
    deadline=None,
    database=None,  # no example database in the repository; every run explores anew
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

OPERATOR_KEYS = ["$where", "$gt", "$ne", "$regex", "$expr", "$set", "$", "a.b", ".", "", "_id"]
XAPI_KEYS = [
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
    "objectType",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
    "homePage",
    "name",
    "member",
    "display",
    "definition",
    "score",
    "scaled",
    "extensions",
    "contextActivities",
    "registration",
    "statement",
    "language",
]
PARAMS = sorted(FILTER_PARAMS | SINGLE_PARAMS)
"""Every parameter GET /xapi/statements reads, from the parser itself (a copy would drift)."""
QUERY_VALUES = [
    '{"mbox": "mailto:ada@example.com"}',
    '{"objectType": "Group", "member": [{"mbox": "mailto:ada@example.com"}]}',
    '{"account": {"homePage": "http://lrs.test", "name": "x"}}',
    "http://adlnet.gov/expapi/verbs/completed",
    "http://example.com/courses/xapi-101",
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.123456789+05:30",
    "ids",
    "exact",
    "canonical",
    "true",
    "false",
    "10",
    encode_cursor(0),
    encode_cursor(1 << 62),
    encode_cursor(1 << 64),
    "s-1",
    "s" + "f" * 40,
]
"""Plausible values, so that combinations of valid parameters get past parsing too."""
DOCUMENT_PARAMS = ["activityId", "agent", "registration", "stateId", "profileId", "since"]
DOCUMENT_PATHS = ["/xapi/activities/state", "/xapi/activities/profile", "/xapi/agents/profile"]
OTHER_PATHS = ["/xapi/about", "/xapi/agents", "/xapi/activities", "/xapi/statements"]
MEDIA_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "multipart/mixed; boundary=abc",
    "multipart/mixed",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "",
    "}{",
]

keys = st.sampled_from(OPERATOR_KEYS + XAPI_KEYS) | st.text(max_size=12)
ODD_VALUES = ["mailto:a@example.com", "http://example.com/x", str(uuid.uuid4()), "0", "1"]
ODD_VALUES += ["²", "١٢", "①", "-1", "1e3", "1.5", " 7", "NaN", "null", "true", "{}", "[]"]
ODD_VALUES += ['{"$gt": ""}', '{"mbox": {"$ne": 1}}', "\x00", "2020-13-45T25:61:00Z", "2020-01-01"]
"""Edge values: unicode digits (`"²".isdigit()` is true, `int("²")` fails), operators in
JSON, almost-dates, JSON keywords."""
odd_texts = st.text(max_size=40) | st.sampled_from(ODD_VALUES)


def json_values(long_text: int) -> st.SearchStrategy[Any]:
    """Any JSON value; strings up to `long_text` characters (repeated 1-3 character runs)."""
    texts = odd_texts | st.text(min_size=1, max_size=3).map(lambda s: s * (long_text // 3))
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )


bodies = json_values(long_text=15_000)
"""Request bodies: strings far beyond any xAPI field, still well below the body limit."""
param_values = st.sampled_from(ODD_VALUES) | odd_texts | json_values(600).map(json.dumps)
"""Query parameters: bounded so the URL stays below httpx's 64 KiB."""


def encode(value: Any) -> bytes:
    """JSON text, also for what orjson refuses (integers beyond 64 bits, infinities)."""
    return json.dumps(value, ensure_ascii=False).encode()


def deep(depth: int, leaf: Any) -> Any:
    """A value nested `depth` levels (alternating objects and arrays)."""
    for level in range(depth):
        leaf = {"$gt": leaf} if level % 2 else [leaf]
    return leaf


def valid_statement() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "done"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/courses/xapi-101",
            "definition": {"name": {"en-US": "xAPI 101"}, "extensions": {"http://e.x/k": 1}},
        },
        "result": {"completion": True, "score": {"scaled": 0.9}},
        "context": {"registration": str(uuid.uuid4()), "contextActivities": {"parent": []}},
    }


def containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every object and array inside `value` (the root included)."""
    if not isinstance(value, dict | list):
        return []
    found = [path]
    for key, child in value.items() if isinstance(value, dict) else enumerate(value):
        found += containers(child, (*path, key))
    return found


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated_statements(draw: st.DrawFn) -> Any:
    """A valid statement with one to three mutations somewhere inside it."""
    statement: Any = valid_statement()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(containers(statement)))
        target = at(statement, path)
        if not isinstance(target, dict | list):  # an earlier mutation replaced it
            continue
        slots = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["replace", "delete", "add", "deep", "wrap"]))
        if action == "add" or not slots:
            if isinstance(target, dict):
                target[draw(keys)] = draw(bodies)
            else:
                target.append(draw(bodies))
            continue
        slot = draw(st.sampled_from(slots))
        if action == "replace":
            target[slot] = draw(bodies)
        elif action == "delete":
            del target[slot]
        elif action == "deep":
            target[slot] = deep(draw(st.integers(1, 60)), target[slot])
        else:
            target[slot] = [target[slot]]
    return draw(st.sampled_from([statement, [statement], [statement, valid_statement()]]))


def record(response: httpx.Response, what: str) -> None:
    """The rules every answer keeps, whatever was asked."""
    SENT[what] += 1
    STATUSES[response.status_code] += 1
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request} -> {response.status_code}: {response.text}"
    if 400 <= response.status_code < 500 and response.request.method != "HEAD":
        body = response.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), (
            f"{request} -> {response.status_code} without the JSON error body: {response.text}"
        )


@pytest.fixture(scope="module", autouse=True)
def report_count(request: pytest.FixtureRequest) -> Any:
    """Adds "fuzz: N requests" to the terminal summary once this module ran."""

    class Summary:
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            detail = ", ".join(f"{name} {count}" for name, count in sorted(SENT.items()))
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
            terminalreporter.write_line(f"fuzz: {sum(SENT.values())} requests ({detail})")
            terminalreporter.write_line(f"fuzz: answers by status: {statuses}")

    yield
    if SENT:
        request.config.pluginmanager.register(Summary(), "fuzz-summary")


@settings(FUZZ, max_examples=2000)
@given(body=mutated_statements(), method=st.sampled_from(["POST", "PUT"]))
async def test_mutated_statements_never_get_a_5xx(client, body, method):
    params = {}
    if method == "PUT":
        given_id = body.get("id") if isinstance(body, dict) else None
        # capped: a real server refuses longer request lines (h11: 64 KiB) before the app,
        # and httpx refuses to build them at all
        params["statementId"] = given_id[:2000] if isinstance(given_id, str) else str(uuid.uuid4())
    content = encode(body)
    response = await client.request(
        method,
        "/xapi/statements",
        params=params,
        content=content,
        headers={"Content-Type": "application/json"},
    )
    record(response, "statements write")


@settings(FUZZ, max_examples=300)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
async def test_statement_bodies_that_are_not_json_never_get_a_5xx(client, raw):
    response = await client.post(
        "/xapi/statements", content=raw, headers={"Content-Type": "application/json"}
    )
    record(response, "statements raw")


@settings(FUZZ, max_examples=2500)
@given(
    params=st.dictionaries(
        st.sampled_from(PARAMS) | st.sampled_from(["foo", "$where", "agent.mbox", "Limit"]),
        st.sampled_from(QUERY_VALUES) | param_values,
        max_size=5,
    )
)
async def test_random_statement_queries_never_get_a_5xx(client, params):
    response = await client.get("/xapi/statements", params=params)
    record(response, "statements query")


@settings(FUZZ, max_examples=1500)
@given(
    path=st.sampled_from(DOCUMENT_PATHS),
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
    params=st.dictionaries(
        st.sampled_from(DOCUMENT_PARAMS) | st.text(max_size=8), param_values, max_size=5
    ),
    body=bodies.map(encode) | st.binary(max_size=100),
    media_type=st.sampled_from(MEDIA_TYPES),
)
async def test_random_document_requests_never_get_a_5xx(
    client, path, method, params, body, media_type
):
    content = body if method in ("PUT", "POST") else None
    headers = {"Content-Type": media_type} if media_type else {}
    response = await client.request(method, path, params=params, content=content, headers=headers)
    record(response, "documents")


header_values = st.sampled_from(
    ["2.0.0", "1.0.3", "1.0.0", "1.0", "2.0", "0.9", "2.0.0.0", "", " 2.0.0", '"*"', "*", 'W/"x"']
) | st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s).map(str.encode)
"""Header values; non-ASCII ones go out as their UTF-8 bytes."""


@settings(FUZZ, max_examples=1500)
@given(
    path=st.sampled_from(OTHER_PATHS + DOCUMENT_PATHS),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
    version=header_values | st.none(),
    media_type=st.sampled_from(MEDIA_TYPES) | st.none(),
    if_match=header_values | st.none(),
    if_none_match=header_values | st.none(),
    params=st.dictionaries(st.sampled_from(PARAMS + DOCUMENT_PARAMS), param_values, max_size=3),
    body=st.none() | bodies.map(encode),
)
async def test_random_headers_on_every_resource_never_get_a_5xx(
    client, path, method, version, media_type, if_match, if_none_match, params, body
):
    headers = {"X-Experience-API-Version": version or ""}
    for name, value in [
        ("Content-Type", media_type),
        ("If-Match", if_match),
        ("If-None-Match", if_none_match),
    ]:
        if value is not None:
            headers[name] = value
    if version is None:
        del headers["X-Experience-API-Version"]
        client.headers.pop("X-Experience-API-Version", None)
    try:
        response = await client.request(method, path, params=params, content=body, headers=headers)
    finally:
        client.headers["X-Experience-API-Version"] = "2.0.0"
    record(response, "headers")


ADMIN_REQUESTS = [
    ("GET", "/admin/forwarders"),
    ("POST", "/admin/forwarders"),
    ("GET", "/admin/forwarders/{id}"),
    ("PATCH", "/admin/forwarders/{id}"),
    ("DELETE", "/admin/forwarders/{id}"),
    ("POST", "/admin/forwarders/{id}/{action}"),
    ("GET", "/admin/events"),
    ("POST", "/admin/events/replay"),
    ("GET", "/admin/events/{id}"),
    ("GET", "/admin/events/{id}/attempts"),
    ("POST", "/admin/events/{id}/replay"),
]
ACTIONS = ["pause", "resume", "rotate-secret", "test", "replay", "other"]
ADMIN_PARAMS = ["forwarder", "state", "limit", "before"]
ADMIN_FIELDS = ["name", "url", "kind", "verbs", "secrets", "paused", "max_in_flight", "secret"]
ADMIN_FIELDS += ["overlap_hours", "states", "start", "end", "forwarder", "activity_ids"]


@pytest.fixture
async def admin_client(app_services, make_credentials):
    auth = await make_credentials(("all", "admin"))
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lrs.test", headers=auth
    ) as c:
        yield c


@settings(FUZZ, max_examples=1200)
@given(
    request=st.sampled_from(ADMIN_REQUESTS),
    existing=st.booleans(),
    some_id=odd_texts.filter(bool).map(lambda s: quote(s, safe="")),
    action=st.sampled_from(ACTIONS),
    params=st.dictionaries(st.sampled_from(ADMIN_PARAMS), param_values, max_size=3),
    body=st.dictionaries(st.sampled_from(ADMIN_FIELDS), bodies, max_size=4).map(encode)
    | st.dictionaries(keys, bodies, max_size=3).map(encode)
    | bodies.map(encode),
)
async def test_random_admin_requests_never_get_a_5xx(
    admin_client, request, existing, some_id, action, params, body
):
    method, template = request
    forwarder_id = some_id
    if existing:
        spec = {"name": f"f-{uuid.uuid4()}", "url": "https://hooks.example.com/lrs"}
        created = await admin_client.post("/admin/forwarders", json=spec)
        record(created, "admin")
        forwarder_id = created.json()["id"]
    path = template.format(id=forwarder_id, action=action)
    content = body if method in ("POST", "PATCH") else None
    response = await admin_client.request(method, path, params=params, content=content)
    record(response, "admin")
    if existing:  # gone again: a listing across every forwarder reads each one's events
        record(await admin_client.delete(f"/admin/forwarders/{forwarder_id}"), "admin")
