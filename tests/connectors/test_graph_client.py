"""The Microsoft Graph pull client against a local stand-in serving the documented shapes:
client-credentials token, attendance reports and records with @odata.nextLink paging, 429
with Retry-After (bounded), a revoked token, and `lrs connectors pull-teams` end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.attendance import ATTENDED, COMPLETED
from connectors.providers.graph import GraphClient, GraphCredentials, GraphError
from connectors.service import TeamsPull
from lrs.cli.main import main
from lrs.connector_http import HttpxExchange, http_client
from tests.connectors.graph_standin import (
    CLIENT_ID,
    CLIENT_SECRET,
    MEETING,
    ORGANIZER,
    REPORT,
    TENANT,
    GraphStandIn,
)
from tests.connectors.test_teams import SECRET as CLIENT_STATE


@pytest.fixture
def graph():
    standin = GraphStandIn()
    standin.start()
    yield standin
    standin.stop()


class Waits:
    """Records what the client would sleep, instead of sleeping (no time in the tests)."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
async def client_for(graph):
    async with http_client() as http:

        def make(secret: str = CLIENT_SECRET, **options) -> GraphClient:
            credentials = GraphCredentials(TENANT, CLIENT_ID, secret)
            return GraphClient(
                credentials,
                HttpxExchange(http),
                graph_url=graph.graph_url,
                login_url=graph.base,
                **options,
            )

        yield make


async def test_reports_and_every_page_of_records_with_one_token(graph, client_for):
    client = client_for()
    reports = await client.attendance_reports(ORGANIZER, MEETING)
    assert [r["id"] for r in reports] == [REPORT]
    report = await client.report(ORGANIZER, MEETING, reports[0])
    emails = [r["emailAddress"] for r in report["attendanceRecords"]]
    assert emails == ["Grace.Hopper@Example.com", None]  # page 1, then page 2 by nextLink
    assert report["meetingEndDateTime"] == "2026-12-03T10:00:00Z"
    assert [s.query for s in graph.calls("/attendanceRecords")] == ["", "$skiptoken=page-2"]
    assert len(graph.calls("/token")) == 1
    assert all(s.authorization.startswith("Bearer eyJ") for s in graph.calls("Records"))


async def test_a_429_is_retried_after_the_retry_after_it_names(graph, client_for):
    waits = Waits()
    graph.throttle = ["7", "2"]
    found = await client_for(sleep=waits).attendance_reports(ORGANIZER, MEETING)
    assert [r["id"] for r in found] == [REPORT]
    assert waits.asked == [7.0, 2.0]
    assert len(graph.calls("/attendanceReports")) == 3


async def test_throttling_is_bounded_in_retries_and_in_each_wait(graph, client_for):
    waits = Waits()
    graph.throttle = ["3600"] * 10
    with pytest.raises(GraphError, match="still throttled after 3 retries"):
        await client_for(sleep=waits, max_retries=3, max_wait=30).attendance_reports(
            ORGANIZER, MEETING
        )
    assert waits.asked == [30.0, 30.0, 30.0]
    assert len(graph.calls("/attendanceReports")) == 4


async def test_a_wrong_client_secret_is_an_error_naming_the_reason(graph, client_for):
    with pytest.raises(GraphError, match="HTTP 401: AADSTS7000215"):
        await client_for(secret="wrong").attendance_reports(ORGANIZER, MEETING)
    assert graph.calls("/attendanceReports") == []


async def test_a_revoked_token_is_replaced_once(graph, client_for):
    client = client_for()
    await client.attendance_reports(ORGANIZER, MEETING)
    graph.revoked.add(graph.calls("/attendanceReports")[0].authorization.removeprefix("Bearer "))
    assert [r["id"] for r in await client.attendance_reports(ORGANIZER, MEETING)] == [REPORT]
    assert len(graph.calls("/token")) == 2


async def test_an_unknown_meeting_is_an_error_with_graphs_message(client_for):
    with pytest.raises(GraphError, match="HTTP 404: NotFound The meeting was not found"):
        await client_for().attendance_reports(ORGANIZER, "no-such-meeting")


async def test_a_next_link_off_the_graph_origin_is_not_followed(graph, client_for):
    client = client_for()
    with pytest.raises(GraphError, match="leaves the Graph origin"):
        client._next("https://attacker.example/v1.0/users?$skiptoken=x")
    assert client._next(graph.graph_url + "/users?$skiptoken=x").startswith(graph.base)


async def test_a_pulled_report_becomes_statements_once(graph, client_for, admin, client, services):
    body = {
        "kind": "teams",
        "name": "teams-pull",
        "secret": CLIENT_STATE,
        "activity_template": "https://meetings.example.com/teams/{meeting_id}",
    }
    assert (await admin.post("/admin/connectors", json=body)).status_code == 201
    pull = TeamsPull(ORGANIZER, MEETING, topic="Onboarding")
    first = await services.connectors.pull_teams("teams-pull", client_for(), pull)
    assert first == [{"report": REPORT, "records": 2, "events": 7, "stored": 7, "instance": REPORT}]
    again = await services.connectors.pull_teams("teams-pull", client_for(), pull)
    assert again[0]["stored"] == 0
    await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))
    attended = (await client.get("/xapi/statements", params={"verb": ATTENDED})).json()
    assert sorted(s["result"]["duration"] for s in attended["statements"]) == ["PT10M", "PT50M"]
    completed = (await client.get("/xapi/statements", params={"verb": COMPLETED})).json()
    assert completed["statements"][0]["object"]["id"].endswith(MEETING)


def test_the_cli_pulls_into_a_teams_connector(cli_env, graph, capsys, monkeypatch):
    create = ("create", "--kind", "teams", "--name", "teams-cli", "--secret", CLIENT_STATE)
    template = "https://meetings.example.com/teams/{meeting_id}"
    assert main(["connectors", *create, "--activity-template", template]) == 0
    capsys.readouterr()
    args = ["connectors", "pull-teams", "--connector", "teams-cli", "--meeting", MEETING]
    args += ["--organizer", ORGANIZER, "--tenant", TENANT, "--client-id", CLIENT_ID]
    args += ["--graph-url", graph.graph_url, "--login-url", graph.base]
    assert main(args) == 2  # no client secret in the environment
    monkeypatch.setenv("LRS_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)[0]["stored"] == 7
    assert main([*args, "--report", "nope"]) == 2
    monkeypatch.setenv("LRS_GRAPH_CLIENT_SECRET", "wrong")
    assert main(args) == 1
