"""The Agent Profile Resource, /xapi/agents/profile (1.0.3 Communication 2.6, 3.1; 2.0
4.1.4, 4.1.6.5), against the real server."""

from __future__ import annotations

import json

import pytest

URL = "/xapi/agents/profile"
AGENT = {"objectType": "Agent", "account": {"homePage": "http://www.example.com", "name": "ada"}}
V1 = {"X-Experience-API-Version": "1.0.3"}
JSON = {"Content-Type": "application/json"}
CREATE = {**JSON, "If-None-Match": "*"}


def params(profile_id: str | None = "p1", agent: dict | None = None, **extra: str) -> dict:
    found = {"agent": json.dumps(agent or AGENT), **extra}
    if profile_id is not None:
        found["profileId"] = profile_id
    return found


async def test_put_then_get_returns_the_document(client):
    response = await client.put(
        URL, params=params(), content=b"plain", headers={**CREATE, "Content-Type": "text/plain"}
    )
    assert response.status_code == 204
    got = await client.get(URL, params=params())
    assert (got.content, got.headers["Content-Type"]) == (b"plain", "text/plain")


async def test_put_without_headers_creating_a_profile_is_400_in_1_0_3(client):
    response = await client.put(URL, params=params(), content=b"{}", headers={**JSON, **V1})
    assert response.status_code == 400


async def test_put_to_existing_profile_without_precondition_is_409_in_1_0_3(client):
    await client.put(URL, params=params(), content=b'{"a":1}', headers={**CREATE, **V1})
    response = await client.put(URL, params=params(), content=b"{}", headers={**JSON, **V1})
    assert response.status_code == 409


async def test_an_identified_group_may_own_profiles(client):
    group = {"objectType": "Group", "mbox": "mailto:team@example.com"}
    query = params(agent=group)
    assert (await client.put(URL, params=query, content=b"{}", headers=CREATE)).status_code == 204
    assert (await client.get(URL, params=query)).status_code == 200


async def test_profiles_of_different_agents_are_separate(client):
    other = {"mbox": "mailto:bob@example.com"}
    await client.put(URL, params=params(), content=b'{"who":"ada"}', headers=CREATE)
    await client.put(URL, params=params(agent=other), content=b'{"who":"bob"}', headers=CREATE)
    assert (await client.get(URL, params=params())).json() == {"who": "ada"}
    assert (await client.get(URL, params=params(None, agent=other))).json() == ["p1"]


async def test_post_merges_and_post_onto_non_json_is_400(client):
    await client.post(URL, params=params(), content=b'{"a":1}', headers=JSON)
    await client.post(URL, params=params(), content=b'{"b":2}', headers=JSON)
    assert (await client.get(URL, params=params())).json() == {"a": 1, "b": 2}
    await client.post(
        URL,
        params=params("raw"),
        content=b"abc",
        headers={"Content-Type": "application/octet-stream"},
    )
    refused = await client.post(URL, params=params("raw"), content=b'{"a":1}', headers=JSON)
    assert refused.status_code == 400
    assert (await client.get(URL, params=params("raw"))).content == b"abc"


async def test_delete_with_stale_if_match_is_412(client):
    await client.put(URL, params=params(), content=b"{}", headers=CREATE)
    stale = await client.delete(URL, params=params(), headers={"If-Match": '"0000"'})
    assert stale.status_code == 412
    assert (await client.get(URL, params=params())).status_code == 200


async def test_get_ids_with_since(client):
    await client.put(URL, params=params("a"), content=b"{}", headers=CREATE)
    listed = await client.get(URL, params=params(None, since="2000-01-01T00:00:00.000Z"))
    assert listed.json() == ["a"]


@pytest.mark.parametrize(
    "query",
    [
        {"profileId": "p"},
        {"agent": "true", "profileId": "p"},
        {"agent": json.dumps({"objectType": "Agent"}), "profileId": "p"},
        {**params(), "activityId": "http://example.com/a"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
async def test_bad_parameters_are_400(client, method, query):
    response = await client.request(method, URL, params=query, content=b"{}", headers=CREATE)
    assert response.status_code == 400


async def test_invalid_json_in_the_agent_parameter_is_400(client):
    agent = json.dumps(AGENT).replace(":", '"', 1)
    response = await client.post(
        URL, params={"agent": agent, "profileId": "p"}, content=b"{}", headers=JSON
    )
    assert response.status_code == 400
    assert "agent" in response.json()["message"]
