"""The Agents Resource, GET /xapi/agents (1.0.3 Communication 2.4, 2.0 4.1.6.3)."""

from __future__ import annotations

import json

import pytest

URL = "/xapi/agents"
ADA = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}


def query(agent: dict) -> dict[str, str]:
    return {"agent": json.dumps(agent)}


async def test_an_unknown_agent_gives_a_person_of_that_agent(client):
    response = await client.get(URL, params=query({**ADA, "name": "Ada"}))
    assert response.status_code == 200
    assert response.json() == {
        "objectType": "Person",
        "name": ["Ada"],
        "mbox": ["mailto:ada@example.com"],
    }
    assert response.headers["ETag"].startswith('"')


async def test_names_seen_in_stored_statements_are_combined(client, make_statement):
    statements = [
        make_statement(actor={**ADA, "name": "Ada Lovelace"}),
        make_statement(actor={**ADA, "name": "Ada L."}),
        make_statement(actor={"mbox": "mailto:bob@example.com", "name": "Bob"}),
    ]
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    person = (await client.get(URL, params=query(ADA))).json()
    assert person["objectType"] == "Person"
    assert sorted(person["name"]) == ["Ada L.", "Ada Lovelace"]
    assert person["mbox"] == ["mailto:ada@example.com"]


@pytest.mark.parametrize(
    ("agent", "ifi"),
    [
        ({"mbox_sha1sum": "b" * 40}, "mbox_sha1sum"),
        ({"openid": "http://openid.example.com/ada"}, "openid"),
        ({"account": {"homePage": "http://www.example.com", "name": "ada"}}, "account"),
    ],
)
async def test_every_identifier_is_an_array(client, agent, ifi):
    person = (await client.get(URL, params=query(agent))).json()
    assert person == {"objectType": "Person", ifi: [agent[ifi]]}


async def test_statements_read_mine_sees_names_from_its_own_statements_only(
    client, make_credentials, make_statement
):
    await client.post("/xapi/statements", json=make_statement(actor={**ADA, "name": "From all"}))
    mine = await make_credentials(("statements/write", "statements/read/mine"))
    own = make_statement(actor={**ADA, "name": "From mine"})
    assert (await client.post("/xapi/statements", json=own, headers=mine)).status_code == 200
    person = (await client.get(URL, params=query(ADA), headers=mine)).json()
    assert person["name"] == ["From mine"]


async def test_document_scopes_read_the_person_without_statement_names(
    client, make_credentials, make_statement
):
    await client.post("/xapi/statements", json=make_statement(actor={**ADA, "name": "Ada"}))
    state = await make_credentials(("state",))
    person = (await client.get(URL, params=query(ADA), headers=state)).json()
    assert person == {"objectType": "Person", "mbox": ["mailto:ada@example.com"]}


async def test_a_write_only_credential_may_not_read_agents(client, make_credentials):
    writer = await make_credentials(("statements/write",))
    assert (await client.get(URL, params=query(ADA), headers=writer)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"agent": "not JSON"},
        {"agent": json.dumps({"objectType": "Agent", "name": "no identifier"})},
        {"agent": json.dumps({"objectType": "Group", "mbox": "mailto:team@example.com"})},
        {**query(ADA), "foo": "bar"},
        {"Agent": json.dumps(ADA)},
    ],
)
async def test_missing_or_invalid_agent_is_400(client, params):
    response = await client.get(URL, params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"


async def test_head_answers_like_get(client):
    assert (await client.head(URL, params=query(ADA))).status_code == 200
