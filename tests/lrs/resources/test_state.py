"""The State Resource, /xapi/activities/state (1.0.3 Communication 2.2, 2.3, 3.1; 2.0 4.1.4,
4.1.6.2), against the real server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from pymongo import MongoClient

from lrs.storage.mongo_documents import key_filter
from statements.document_params import MAX_ID_LENGTH
from statements.documents import DocumentContent, DocumentKey, DocumentScope
from statements.errors import PreconditionRequired

URL = "/xapi/activities/state"
ACTIVITY = "http://example.com/activities/state-test"
AGENT = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
V1 = {"X-Experience-API-Version": "1.0.3"}


def params(state_id: str | None = "s1", **extra: str) -> dict[str, str]:
    found = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), **extra}
    if state_id is not None:
        found["stateId"] = state_id
    return found


async def put(client, body=b'{"a":1}', content_type="application/json", headers=None, **kw):
    sent = {"Content-Type": content_type, **(headers or {})}
    return await client.put(URL, params=params(**kw), content=body, headers=sent)


async def post(client, body=b'{"a":1}', content_type="application/json", headers=None, **kw):
    sent = {"Content-Type": content_type, **(headers or {})}
    return await client.post(URL, params=params(**kw), content=body, headers=sent)


async def etag(client, **kw) -> str:
    return (await client.get(URL, params=params(**kw))).headers["ETag"]


# -- single documents ------------------------------------------------------------------------


async def test_put_then_get_returns_the_bytes_with_their_content_type(client):
    body = bytes(range(256))
    assert (await put(client, body, "application/x-thing; v=1")).status_code == 204
    response = await client.get(URL, params=params())
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["Content-Type"] == "application/x-thing; v=1"


async def test_text_documents_keep_their_content_type_without_an_added_charset(client):
    await put(client, b"hello", "text/plain")
    response = await client.get(URL, params=params())
    assert response.headers["Content-Type"] == "text/plain"


async def test_put_without_content_type_is_stored_as_octet_stream(client):
    await client.put(URL, params=params(), content=b"raw")
    response = await client.get(URL, params=params())
    assert response.headers["Content-Type"] == "application/octet-stream"


async def test_get_carries_a_quoted_sha1_etag_and_last_modified(client):
    body = b'{"a": 1}'
    put_response = await put(client, body)
    response = await client.get(URL, params=params())
    expected = f'"{hashlib.sha1(body, usedforsecurity=False).hexdigest()}"'
    assert response.headers["ETag"] == expected == put_response.headers["ETag"]
    assert parsedate_to_datetime(response.headers["Last-Modified"]).tzinfo is not None


async def test_head_answers_like_get(client):
    await put(client, b"hello", "text/plain")
    response = await client.head(URL, params=params())
    assert response.status_code == 200
    assert (
        response.headers["ETag"] == f'"{hashlib.sha1(b"hello", usedforsecurity=False).hexdigest()}"'
    )


async def test_get_of_a_missing_state_is_404(client):
    response = await client.get(URL, params=params("nothing-here"))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_registration_is_part_of_the_document_identity(client):
    registration = str(uuid.uuid4())
    await put(client, b'{"r":1}', registration=registration)
    await put(client, b'{"r":0}')
    with_registration = await client.get(URL, params=params(registration=registration.upper()))
    assert with_registration.json() == {"r": 1}
    assert (await client.get(URL, params=params())).json() == {"r": 0}


async def test_agent_is_matched_by_its_identifier_not_its_other_properties(client):
    await put(client, b'{"a":1}')
    other_form = {"mbox": "mailto:ada@EXAMPLE.com", "name": "Ada"}
    query = {**params(), "agent": json.dumps(other_form)}
    assert (await client.get(URL, params=query)).json() == {"a": 1}


async def test_a_15_mb_document_is_stored_and_a_larger_one_is_413(client):
    limit = 15 * 1024 * 1024
    body = b"x" * limit
    assert (await put(client, body, "text/plain")).status_code == 204
    assert (await client.get(URL, params=params())).content == body
    too_big = await put(client, body + b"x", "text/plain", state_id="s2")
    assert too_big.status_code == 413


# -- POST and the JSON merge -------------------------------------------------------------------


async def test_post_to_a_missing_state_creates_it(client):
    assert (await post(client, b"just text", "text/plain")).status_code == 204
    assert (await client.get(URL, params=params())).content == b"just text"


async def test_post_merges_json_one_level_deep(client):
    await post(client, b'{"x":"foo","y":"bar","car":{"make":"Ford"}}')
    response = await post(client, b'{"x":"bash","z":"faz","car":{"model":"Ram"}}')
    assert response.status_code == 204
    merged = await client.get(URL, params=params())
    assert merged.json() == {"x": "bash", "y": "bar", "z": "faz", "car": {"model": "Ram"}}
    assert response.headers["ETag"] == merged.headers["ETag"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"abcdefg", "not/json"), (b"[1,2]", "application/json"), (b"{}", "text/plain")],
)
async def test_post_of_a_non_object_onto_json_is_400_and_changes_nothing(
    client, body, content_type
):
    await post(client, b'{"a":1}')
    response = await post(client, body, content_type)
    assert response.status_code == 400
    assert (await client.get(URL, params=params())).json() == {"a": 1}


async def test_post_of_json_onto_a_non_json_document_is_400_and_changes_nothing(client):
    await put(client, b"/ asdf / undefined", "application/octet-stream")
    response = await post(client, b'{"a":1}')
    assert response.status_code == 400
    assert (await client.get(URL, params=params())).content == b"/ asdf / undefined"


async def test_post_of_invalid_json_is_400(client):
    response = await post(client, b'{"a":1}{')
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_document"
    assert (await client.get(URL, params=params())).status_code == 404


# -- concurrency ------------------------------------------------------------------------------


async def test_put_to_existing_state_without_precondition_is_409_in_2_0(client):
    await put(client, b'{"a":1}')
    response = await put(client, b'{"a":2}')
    assert response.status_code == 409
    assert "If-Match" in response.json()["message"]
    assert (await client.get(URL, params=params())).json() == {"a": 1}


async def test_put_to_existing_state_without_precondition_overwrites_in_1_0_3(client):
    await put(client, b'{"a":1}', headers=V1)
    assert (await put(client, b'{"a":2}', headers=V1)).status_code == 204
    assert (await client.get(URL, params=params(), headers=V1)).json() == {"a": 2}


async def test_put_with_the_current_etag_replaces_the_document(client):
    await put(client, b'{"a":1}')
    response = await put(client, b'{"a":2}', headers={"If-Match": await etag(client)})
    assert response.status_code == 204
    assert (await client.get(URL, params=params())).json() == {"a": 2}


async def test_put_with_a_stale_etag_is_412_and_changes_nothing(client):
    await put(client, b'{"a":1}')
    response = await put(client, b'{"a":2}', headers={"If-Match": '"1234"'})
    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"
    assert (await client.get(URL, params=params())).json() == {"a": 1}


async def test_put_if_none_match_star_creates_once_then_is_412(client):
    first = await put(client, b'{"a":1}', headers={"If-None-Match": "*"})
    second = await put(client, b'{"a":2}', headers={"If-None-Match": "*"})
    assert (first.status_code, second.status_code) == (204, 412)


async def test_put_if_match_on_a_missing_state_is_412(client):
    response = await put(client, b'{"a":1}', headers={"If-Match": "*"})
    assert response.status_code == 412


async def test_post_honours_if_match(client):
    await post(client, b'{"a":1}')
    stale = await post(client, b'{"b":2}', headers={"If-Match": '"1234"'})
    fresh = await post(client, b'{"b":2}', headers={"If-Match": await etag(client)})
    assert (stale.status_code, fresh.status_code) == (412, 204)
    assert (await client.get(URL, params=params())).json() == {"a": 1, "b": 2}


async def test_delete_honours_if_match(client):
    await put(client, b'{"a":1}')
    stale = await client.delete(URL, params=params(), headers={"If-Match": '"1234"'})
    assert stale.status_code == 412
    assert (await client.get(URL, params=params())).status_code == 200
    fresh = await client.delete(URL, params=params(), headers={"If-Match": await etag(client)})
    assert fresh.status_code == 204
    assert (await client.get(URL, params=params())).status_code == 404


async def test_two_puts_racing_on_the_same_etag_exactly_one_wins(client):
    await put(client, b'{"v":0}')
    tag = await etag(client)
    bodies = [b'{"v":1}', b'{"v":2}']
    responses = await asyncio.gather(
        *(put(client, body, headers={"If-Match": tag}) for body in bodies)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204, 412]
    winner = next(b for b, r in zip(bodies, responses, strict=True) if r.status_code == 204)
    assert (await client.get(URL, params=params())).content == winner


async def test_concurrent_merges_lose_no_update(client):
    await post(client, b"{}")
    keys = [f"k{i}" for i in range(12)]
    responses = await asyncio.gather(
        *(post(client, json.dumps({key: True}).encode()) for key in keys)
    )
    assert {r.status_code for r in responses} == {204}
    assert set((await client.get(URL, params=params())).json()) == set(keys)


async def test_updated_time_moves_forward_on_every_write(client, services):
    key = DocumentKey(DocumentScope("state", ACTIVITY, "mbox::mailto:ada@example.com", None), "s1")
    await put(client, b'{"a":1}', headers=V1)
    moments = []
    for value in range(3):
        await put(client, json.dumps({"a": value}).encode(), headers=V1)
        stored = await services.documents.get_document(key)
        moments.append(stored.updated)
    assert moments == sorted(moments) and len(set(moments)) == 3


# -- several documents ------------------------------------------------------------------------


async def test_get_without_state_id_lists_ids_across_registrations(client):
    registration = str(uuid.uuid4())
    await put(client, state_id="a")
    await put(client, state_id="b", registration=registration)
    everything = await client.get(URL, params=params(None))
    narrowed = await client.get(URL, params=params(None, registration=registration))
    assert sorted(everything.json()) == ["a", "b"]
    assert narrowed.json() == ["b"]
    assert everything.headers["ETag"].startswith('"')
    assert "Last-Modified" in everything.headers


async def test_get_ids_of_an_empty_context_is_an_empty_array(client):
    response = await client.get(URL, params=params(None))
    assert response.json() == []
    assert "Last-Modified" not in response.headers


async def test_since_is_exclusive_on_the_time_a_state_was_stored_or_updated(client, services):
    await put(client, state_id="old")
    scope = DocumentScope("state", ACTIVITY, "mbox::mailto:ada@example.com", None)
    old = await services.documents.get_document(DocumentKey(scope, "old"))
    await put(client, state_id="new")
    since = old.updated.isoformat()
    assert (await client.get(URL, params=params(None, since=since))).json() == ["new"]
    earlier = "2000-01-01T00:00:00Z"
    assert sorted((await client.get(URL, params=params(None, since=earlier))).json()) == [
        "new",
        "old",
    ]


async def test_delete_without_state_id_deletes_every_state_of_the_context(client):
    registration = str(uuid.uuid4())
    await put(client, state_id="a")
    await put(client, state_id="b", registration=registration)
    await put(client, state_id="c", registration=registration)
    narrowed = await client.delete(URL, params=params(None, registration=registration))
    assert narrowed.status_code == 204
    assert (await client.get(URL, params=params(None))).json() == ["a"]
    assert (await client.delete(URL, params=params(None))).status_code == 204
    assert (await client.get(URL, params=params(None))).json() == []


async def test_delete_of_a_missing_state_is_204(client):
    assert (await client.delete(URL, params=params("missing"))).status_code == 204


# -- parameters and scopes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"agent": json.dumps(AGENT), "stateId": "s"},
        {"activityId": ACTIVITY, "stateId": "s"},
        {**params(), "agent": "not JSON"},
        {**params(), "agent": "true"},
        {**params(), "agent": json.dumps({"objectType": "Agent", "name": "no identifier"})},
        {**params(), "registration": "true"},
        {**params(), "activityId": "not an iri"},
        {**params(), "StateId": "s"},
        {**params(), "foo": "bar"},
        {**params(), "stateId": "x" * (MAX_ID_LENGTH + 1)},
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
async def test_missing_or_malformed_parameters_are_400(client, method, query):
    response = await client.request(method, URL, params=query, content=b"{}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_writes_without_state_id_are_400(client, method):
    response = await client.request(method, URL, params=params(None), content=b"{}")
    assert response.status_code == 400


async def test_since_must_be_a_timestamp_and_not_given_with_a_state_id(client):
    bad = await client.get(URL, params=params(None, since="not a timestamp"))
    with_id = await client.get(URL, params=params(since="2024-01-01T00:00:00Z"))
    assert (bad.status_code, with_id.status_code) == (400, 400)


async def test_state_scope_may_read_and_write(client, make_credentials):
    headers = {**await make_credentials(("state",)), "Content-Type": "application/json"}
    assert (
        await client.put(URL, params=params(), content=b"{}", headers=headers)
    ).status_code == 204
    assert (await client.get(URL, params=params(), headers=headers)).status_code == 200


async def test_all_read_may_read_but_not_write(client, make_credentials):
    reader = await make_credentials(("all/read",))
    await put(client)
    assert (await client.get(URL, params=params(), headers=reader)).status_code == 200
    response = await client.put(URL, params=params(), content=b"{}", headers=reader)
    assert response.status_code == 403


async def test_profile_scope_cannot_touch_state(client, make_credentials):
    other = await make_credentials(("profile", "statements/read"))
    assert (await client.get(URL, params=params(), headers=other)).status_code == 403


# -- the store's compare-and-set under interference ---------------------------------------------


@pytest.fixture
def meddler(mongo_server, settings):
    """A second, synchronous client: changes documents behind the store's back."""
    with MongoClient(mongo_server.uri) as sync:
        yield sync[settings.database]["documents"]


KEY = DocumentKey(DocumentScope("state", ACTIVITY, "mbox::mailto:ada@example.com", None), "s1")
FRESH = DocumentContent(b"{}", "application/json")


async def test_a_write_that_loses_the_race_to_create_is_replanned(services, meddler):
    plans = []

    def plan(current):
        plans.append(current)
        if current is None:  # somebody else creates the document meanwhile
            meddler.insert_one(
                {
                    **key_filter(KEY),
                    "content": b"x",
                    "content_type": "text/plain",
                    "etag": "e",
                    "updated": datetime.now(UTC),
                    "rev": 1,
                }
            )
        return FRESH

    stored = await services.documents.write_document(KEY, plan, needs_content=True)
    assert plans[0] is None and plans[1].content == b"x"
    assert stored.revision == 2


async def test_a_write_that_keeps_losing_gives_up_with_409(services, meddler):
    await services.documents.write_document(KEY, lambda current: FRESH, needs_content=False)

    def plan(current):
        meddler.update_one(key_filter(KEY), {"$inc": {"rev": 1}})
        return FRESH

    with pytest.raises(PreconditionRequired):
        await services.documents.write_document(KEY, plan, needs_content=False)


async def test_a_conditional_delete_racing_a_write_is_rechecked(services, meddler):
    await services.documents.write_document(KEY, lambda current: FRESH, needs_content=False)
    seen = []

    def check(current):
        seen.append(current)
        if len(seen) == 1:
            meddler.update_one(key_filter(KEY), {"$inc": {"rev": 1}})

    await services.documents.delete_document(KEY, check)
    assert len(seen) == 2
    assert await services.documents.get_document(KEY) is None


async def test_a_conditional_delete_that_keeps_losing_gives_up_with_409(services, meddler):
    await services.documents.write_document(KEY, lambda current: FRESH, needs_content=False)

    def check(current):
        meddler.update_one(key_filter(KEY), {"$inc": {"rev": 1}})

    with pytest.raises(PreconditionRequired):
        await services.documents.delete_document(KEY, check)


async def test_updated_moves_forward_even_when_the_clock_does_not(services, meddler):
    await services.documents.write_document(KEY, lambda current: FRESH, needs_content=False)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    meddler.update_one(key_filter(KEY), {"$set": {"updated": future}})
    stored = await services.documents.write_document(
        KEY, lambda current: FRESH, needs_content=False
    )
    assert stored.updated == future + timedelta(milliseconds=1)


async def test_delete_if_none_match_star_of_a_missing_state_is_204(client):
    response = await client.delete(URL, params=params("missing"), headers={"If-None-Match": "*"})
    assert response.status_code == 204


@pytest.mark.parametrize(
    "content_type",
    ["text/plain\r\nX-Injected: yes", 'text/plain; a="\x01"', "plain text", "json", "text/"],
)
@pytest.mark.parametrize("write", [put, post])
async def test_a_content_type_that_is_not_a_media_type_is_400(client, write, content_type):
    """It is echoed in every later GET's headers: a broken one would break those answers."""
    response = await write(client, b"x", content_type=content_type)
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"rule": "document.content_type"}
    assert (await client.get(URL, params=params())).status_code == 404


async def test_a_stored_content_type_that_is_not_a_media_type_is_served_as_bytes(client, services):
    """Stored before the check above: served as octets rather than breaking the answer."""
    broken = DocumentContent(b"x", "text/plain\r\nX-Injected: yes")
    await services.documents.write_document(KEY, lambda current: broken, needs_content=False)
    got = await client.get(URL, params=params())
    assert got.status_code == 200 and got.content == b"x"
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert "X-Injected" not in got.headers
