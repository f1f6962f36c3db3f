"""`/metrics`: protected, in Prometheus text format, and moving with the traffic."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from lrs.app import create_app
from lrs.auth.scopes import KNOWN_SCOPES, METRICS
from lrs.http.access_log import MAX_REMEMBERED, UNMATCHED, AccessLog, route_template
from lrs.metrics import Metrics

FAMILIES = {
    "lrs_http_requests",
    "lrs_http_request_duration_seconds",
    "lrs_statements_stored",
    "lrs_statement_group_size",
    "lrs_mongodb_command_duration_seconds",
    "lrs_forwarding_delivery_duration_seconds",
    "lrs_forwarding_events",
    "lrs_forwarding_queue_depth",
    "lrs_forwarding_unmatched_events",
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def total(text: str, name: str, **labels: str) -> float:
    """Sum over the samples of `name` whose labels include `labels`."""
    return sum(
        v
        for (n, have), v in samples(text).items()
        if n == name and set(labels.items()) <= set(have)
    )


async def scrape(client, auth) -> str:
    response = await client.get("/metrics", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_needs_a_credential_with_the_metrics_or_admin_scope(client, make_credentials):
    assert METRICS in KNOWN_SCOPES
    anonymous = await client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"]
    xapi_all = await client.get("/metrics")  # the client's credential has `all` only
    assert xapi_all.status_code == 403
    assert xapi_all.json()["details"] == {"required_any": ["metrics", "admin"]}
    await scrape(client, await make_credentials(("metrics",)))
    await scrape(client, await make_credentials(("admin",)))


async def test_metrics_expose_every_family(client, make_credentials):
    text = await scrape(client, await make_credentials(("metrics",)))
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names >= FAMILIES


async def test_request_counts_and_latency_move_by_route_template_and_status(
    client, make_credentials, make_statement
):
    scraper = await make_credentials(("metrics",))
    before = await scrape(client, scraper)
    await client.post("/xapi/statements", json=make_statement())
    await client.get("/xapi/statements")
    await client.get("/xapi/statements", headers={"Authorization": ""})
    await client.get("/xapi/activities/state", params={"activityId": "bad"})
    await client.get("/no/such/path/123")
    after = await scrape(client, scraper)

    def moved(**labels: str) -> float:
        name = "lrs_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(method="POST", route="/xapi/statements", status="200") == 1
    assert moved(method="GET", route="/xapi/statements", status="200") == 1
    assert moved(method="GET", route="/xapi/statements", status="401") == 1
    assert moved(method="GET", route="/xapi/activities/state", status="400") == 1
    assert moved(method="GET", route=UNMATCHED, status="404") == 1  # never the raw path
    count = "lrs_http_request_duration_seconds_count"
    labels = {"method": "POST", "route": "/xapi/statements", "status": "200"}
    assert value(after, count, **labels) - value(before, count, **labels) == 1
    assert "/no/such/path/123" not in after


async def test_statements_stored_counts_new_statements_only(
    client, make_credentials, make_statement
):
    scraper = await make_credentials(("metrics",))
    before = value(await scrape(client, scraper), "lrs_statements_stored_total")
    batch = [make_statement(id=f"00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200  # re-post
    bad = make_statement(verb={"id": "not an iri"})
    assert (await client.post("/xapi/statements", json=bad)).status_code == 400
    after = value(await scrape(client, scraper), "lrs_statements_stored_total")
    assert after - before == 3


async def test_database_latency_is_observed_by_command(client, make_credentials, make_statement):
    scraper = await make_credentials(("metrics",))
    before = await scrape(client, scraper)
    await client.post("/xapi/statements", json=make_statement())
    after = await scrape(client, scraper)
    name = "lrs_mongodb_command_duration_seconds_count"
    inserts = total(after, name, command="insert") - total(before, name, command="insert")
    finds = total(after, name, command="find") - total(before, name, command="find")
    assert inserts >= 1 and finds >= 1


def test_route_templates_come_from_the_routes_not_the_path(settings):
    app = create_app(settings, "mongodb://unused")

    def template(path: str, method: str = "GET") -> str:
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        return route_template(app.routes, scope)

    assert template("/xapi/statements") == "/xapi/statements"
    assert template("/admin/forwarders/abc123") == "/admin/forwarders/{forwarder_id}"
    assert template("/metrics") == "/metrics"
    assert template("/xapi/about", "DELETE") == "/xapi/about"  # a 405 keeps its route
    assert template("/elsewhere") == UNMATCHED


async def test_group_writes_of_single_statements_are_observed_by_size(
    client, make_credentials, make_statement
):
    scraper = await make_credentials(("metrics",))
    before = await scrape(client, scraper)
    responses = await asyncio.gather(
        *(client.post("/xapi/statements", json=make_statement()) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200] * 3
    after = await scrape(client, scraper)
    count = "lrs_statement_group_size_count"
    size = "lrs_statement_group_size_sum"
    assert value(after, size) - value(before, size) == 3  # every request in some group
    assert 1 <= value(after, count) - value(before, count) <= 3


def test_remembered_route_templates_stay_bounded_and_right(settings):
    app = create_app(settings, "mongodb://unused")
    access = AccessLog(routes=app.routes, metrics=Metrics())
    paths = [f"/admin/forwarders/f{i}" for i in range(MAX_REMEMBERED + 10)] + ["/elsewhere"]
    for path in paths * 2:
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        expected = UNMATCHED if path == "/elsewhere" else "/admin/forwarders/{forwarder_id}"
        assert access._template(scope) == expected
    assert len(access._templates) <= MAX_REMEMBERED
