"""The Activity Profile Resource, /xapi/activities/profile (1.0.3 Communication 2.7, 3.1;
2.0 4.1.4, 4.1.6.6), against the real server."""

from __future__ import annotations

import json

import pytest

URL = "/xapi/activities/profile"
ACTIVITY = "http://example.com/activities/profiled"
V1 = {"X-Experience-API-Version": "1.0.3"}
JSON = {"Content-Type": "application/json"}
CREATE = {**JSON, "If-None-Match": "*"}


def params(profile_id: str | None = "p1", **extra: str) -> dict[str, str]:
    found = {"activityId": ACTIVITY, **extra}
    if profile_id is not None:
        found["profileId"] = profile_id
    return found


async def test_put_with_if_none_match_creates_and_get_returns_it(client):
    response = await client.put(URL, params=params(), content=b'{"a":1}', headers=CREATE)
    assert response.status_code == 204
    got = await client.get(URL, params=params())
    assert got.json() == {"a": 1}
    assert got.headers["ETag"] == response.headers["ETag"]
    assert "Last-Modified" in got.headers


async def test_put_without_headers_creating_a_profile_is_400_in_1_0_3(client):
    response = await client.put(URL, params=params(), content=b"{}", headers={**JSON, **V1})
    assert response.status_code == 400
    assert "If-Match" in response.json()["message"]


async def test_put_without_headers_creating_a_profile_is_204_in_2_0(client):
    response = await client.put(URL, params=params(), content=b"{}", headers=JSON)
    assert response.status_code == 204


@pytest.mark.parametrize("version", [V1, {}])
async def test_put_to_existing_profile_without_precondition_is_409(client, version):
    await client.post(URL, params=params(), content=b'{"a":1}', headers=JSON)
    response = await client.put(
        URL, params=params(), content=b'{"a":2}', headers={**JSON, **version}
    )
    assert response.status_code == 409
    assert response.json()["message"]
    assert (await client.get(URL, params=params())).json() == {"a": 1}


async def test_put_with_if_match_replaces_and_stale_if_match_is_412(client):
    await client.put(URL, params=params(), content=b'{"a":1}', headers=CREATE)
    tag = (await client.get(URL, params=params())).headers["ETag"]
    stale = await client.put(
        URL, params=params(), content=b"x", headers={**JSON, "If-Match": '"1111"'}
    )
    fresh = await client.put(
        URL, params=params(), content=b'{"b":2}', headers={**JSON, "If-Match": tag}
    )
    assert (stale.status_code, fresh.status_code) == (412, 204)
    assert (await client.get(URL, params=params())).json() == {"b": 2}


async def test_put_if_none_match_star_on_an_existing_profile_is_412(client):
    await client.put(URL, params=params(), content=b"{}", headers=CREATE)
    response = await client.put(URL, params=params(), content=b"{}", headers=CREATE)
    assert response.status_code == 412


async def test_post_merges_json_documents(client):
    await client.post(URL, params=params(), content=b'{"car":"Honda"}', headers=JSON)
    await client.post(URL, params=params(), content=b'{"type":"Civic"}', headers=JSON)
    assert (await client.get(URL, params=params())).json() == {"car": "Honda", "type": "Civic"}


async def test_post_of_invalid_json_is_400(client):
    body = json.dumps({"a": 1}).encode() + b"["
    response = await client.post(URL, params=params(), content=body, headers=JSON)
    assert response.status_code == 400


async def test_delete_removes_the_profile_and_needs_a_profile_id(client):
    await client.put(URL, params=params(), content=b"{}", headers=CREATE)
    assert (await client.delete(URL, params=params())).status_code == 204
    assert (await client.get(URL, params=params())).status_code == 404
    assert (await client.delete(URL, params=params(None))).status_code == 400


async def test_get_without_profile_id_lists_the_ids_since(client):
    await client.put(URL, params=params("a"), content=b"{}", headers=CREATE)
    await client.put(URL, params=params("b"), content=b"{}", headers=CREATE)
    other = {**params("c"), "activityId": ACTIVITY + "/other"}
    await client.put(URL, params=other, content=b"{}", headers=CREATE)
    listed = await client.get(URL, params=params(None))
    assert sorted(listed.json()) == ["a", "b"]
    later = await client.get(URL, params=params(None, since="2999-01-01T00:00:00Z"))
    assert later.json() == []


@pytest.mark.parametrize(
    "query",
    [
        {"profileId": "p"},
        {"activityId": "not an iri", "profileId": "p"},
        {**params(), "agent": json.dumps({"mbox": "mailto:a@b.example"})},
        {**params(None), "since": "true"},
    ],
)
async def test_bad_parameters_are_400(client, query):
    assert (await client.get(URL, params=query)).status_code == 400


async def test_profile_scope_may_write_and_state_scope_may_not(client, make_credentials):
    profile = await make_credentials(("profile",))
    state = await make_credentials(("state",))
    ok = await client.put(URL, params=params(), content=b"{}", headers={**CREATE, **profile})
    refused = await client.get(URL, params=params(), headers=state)
    assert (ok.status_code, refused.status_code) == (204, 403)


async def test_head_answers_like_get(client):
    await client.put(URL, params=params(), content=b"{}", headers=CREATE)
    assert (await client.head(URL, params=params())).status_code == 200
