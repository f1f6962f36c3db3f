"""The Activities Resource, GET /xapi/activities (1.0.3 Communication 2.5, 2.0 4.1.6.4), and
the recording of definitions at ingest that feeds it."""

from __future__ import annotations

from typing import Any

import pytest

from lrs.auth.scopes import Credential, may_define
from lrs.ingest import _new_statement
from lrs.storage.mongo_activities import COMPACT_OVER, DigestCache

URL = "/xapi/activities"
ACTIVITY = "http://www.example.com/meetings/occurances/34534"
DEFINITION = {
    "type": "http://adlnet.gov/expapi/activities/meeting",
    "name": {"en-GB": "example meeting", "en-US": "example meeting"},
    "description": {"en-US": "An example meeting."},
    "moreInfo": "http://virtualmeeting.example.com/345256",
    "extensions": {"http://example.com/profiles/meetings/extension/location": "X:\\minutes"},
}


def activity(
    definition: dict[str, Any] | None = None, activity_id: str = ACTIVITY
) -> dict[str, Any]:
    found: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition is not None:
        found["definition"] = definition
    return found


async def get(client, activity_id: str = ACTIVITY, **kw):
    return await client.get(URL, params={"activityId": activity_id}, **kw)


async def test_an_unknown_activity_is_returned_bare_with_200(client):
    response = await get(client, "http://www.example.com/never-seen")
    assert response.status_code == 200
    assert response.json() == {"objectType": "Activity", "id": "http://www.example.com/never-seen"}
    assert response.headers["ETag"].startswith('"')


async def test_the_complete_activity_object_of_a_stored_statement_is_returned(
    client, make_statement
):
    await client.post("/xapi/statements", json=make_statement(object=activity(DEFINITION)))
    assert (await get(client)).json() == activity(DEFINITION)


async def test_two_languages_from_one_batch_are_both_returned(client, make_statement):
    french = {**DEFINITION, "name": {"fr-FR": "réunion", "en-GB": "example meeting"}}
    batch = [
        make_statement(object=activity(DEFINITION)),
        make_statement(object=activity(french)),
    ]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    name = (await get(client)).json()["definition"]["name"]
    assert name == {"en-GB": "example meeting", "en-US": "example meeting", "fr-FR": "réunion"}


async def test_later_definitions_win_for_scalars_even_after_a_change_back(client, make_statement):
    for kind in ("http://t/one", "http://t/two", "http://t/one"):
        statement = make_statement(object=activity({"type": kind}))
        assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    assert (await get(client)).json()["definition"] == {"type": "http://t/one"}


async def test_context_and_substatement_activities_are_recorded(client, make_statement):
    parent = activity({"type": "http://t/course"}, "http://example.com/course")
    inner = activity({"type": "http://t/lesson"}, "http://example.com/lesson")
    statement = make_statement(
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:ada@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": inner,
        },
        context={"contextActivities": {"parent": [parent]}},
    )
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    assert (await get(client, "http://example.com/course")).json() == parent
    assert (await get(client, "http://example.com/lesson")).json() == inner


async def test_definitions_from_credentials_without_define_are_not_trusted(
    client, make_credentials, make_statement
):
    writer = await make_credentials(("statements/write",))
    statement = make_statement(object=activity(DEFINITION))
    assert (
        await client.post("/xapi/statements", json=statement, headers=writer)
    ).status_code == 200
    assert (await get(client)).json() == activity()
    definer = await make_credentials(("statements/write", "define"))
    await client.post(
        "/xapi/statements", json=make_statement(object=activity(DEFINITION)), headers=definer
    )
    assert (await get(client)).json() == activity(DEFINITION)


async def test_an_unchanged_definition_costs_no_write(services, make_statement):
    credential = Credential("k", frozenset({"all"}), {"mbox": "mailto:lrs@example.com"})
    seqs = services.clock.take(4)
    first = [
        _new_statement(make_statement(object=activity(DEFINITION)), seq, credential, "2.0.0")
        for seq in seqs[:2]
    ]
    again = [
        _new_statement(make_statement(object=activity(DEFINITION)), seq, credential, "2.0.0")
        for seq in seqs[2:]
    ]
    assert await services.activities.record_definitions(first) == 1
    assert await services.activities.record_definitions(again) == 0


def test_only_credentials_with_define_or_all_update_activity_definitions():
    authority = {"mbox": "mailto:w@example.com"}
    assert may_define(Credential("a", frozenset({"all"}), authority))
    assert may_define(Credential("d", frozenset({"statements/write", "define"}), authority))
    refused = Credential("w", frozenset({"statements/write"}), authority)
    assert not may_define(refused)


async def test_many_variants_are_compacted_on_read_without_losing_anything(
    client, services, make_statement
):
    batch = [
        make_statement(object=activity({"name": {f"x-l{i}": f"name {i}"}}))
        for i in range(COMPACT_OVER + 3)
    ]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    collection = services.activities.definitions
    assert await collection.count_documents({"activity": ACTIVITY}) == COMPACT_OVER + 3
    first = (await get(client)).json()
    assert len(first["definition"]["name"]) == COMPACT_OVER + 3
    assert await collection.count_documents({"activity": ACTIVITY}) == 1
    assert (await get(client)).json() == first


def test_digest_cache_forgets_the_least_recently_used_activity():
    cache = DigestCache(2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")


async def test_define_scope_may_read_and_write_only_may_not(client, make_credentials):
    definer = await make_credentials(("define",))
    writer = await make_credentials(("statements/write",))
    assert (await get(client, headers=definer)).status_code == 200
    assert (await get(client, headers=writer)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"activityId": "true"},
        {"activityId": ACTIVITY, "agent": "{}"},
        {"activityid": ACTIVITY},
    ],
)
async def test_missing_or_invalid_activity_id_is_400(client, params):
    response = await client.get(URL, params=params)
    assert response.status_code == 400


async def test_head_answers_like_get(client):
    assert (await client.head(URL, params={"activityId": ACTIVITY})).status_code == 200


async def test_a_known_variant_seen_again_before_the_latest_keeps_its_place(client, make_statement):
    one, two = activity({"type": "http://t/one"}), activity({"type": "http://t/two"})
    await client.post("/xapi/statements", json=make_statement(object=one))
    batch = [make_statement(object=one), make_statement(object=two)]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    assert (await get(client)).json()["definition"] == {"type": "http://t/two"}
