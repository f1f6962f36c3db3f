"""GET /xapi/statements: single lookups, filters, paging, formats (xAPI 2.0 4.1.6.1)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


async def post(client, *statements):
    response = await client.post("/xapi/statements", json=list(statements))
    assert response.status_code == 200, response.text
    return response.json()


async def ids_of(client, **params):
    response = await client.get("/xapi/statements", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["statements"]]


def agent(email):
    return {"objectType": "Agent", "mbox": f"mailto:{email}"}


async def test_unknown_statement_id_is_404(client):
    response = await client.get("/xapi/statements", params={"statementId": str(uuid.uuid4())})
    assert response.status_code == 404
    assert "X-Experience-API-Consistent-Through" in response.headers


async def test_results_are_newest_first_and_ascending_reverses(client, make_statement):
    ids = [(await post(client, make_statement()))[0] for _ in range(3)]
    assert await ids_of(client) == ids[::-1]
    assert await ids_of(client, ascending="true") == ids


async def test_filters_by_agent_verb_activity_and_registration(client, make_statement):
    registration = str(uuid.uuid4())
    (a,) = await post(client, make_statement(actor=agent("a@example.com")))
    (b,) = await post(client, make_statement(verb={"id": "http://example.com/verbs/tried"}))
    (c,) = await post(client, make_statement(object={"id": "http://example.com/other"}))
    (d,) = await post(client, make_statement(context={"registration": registration}))
    assert await ids_of(client, agent=json.dumps(agent("a@example.com"))) == [a]
    assert await ids_of(client, verb="http://example.com/verbs/tried") == [b]
    assert await ids_of(client, activity="http://example.com/other") == [c]
    assert await ids_of(client, registration=registration) == [d]


async def test_related_activities_include_context_activities(client, make_statement):
    parent = "http://example.com/parent"
    (a,) = await post(
        client, make_statement(context={"contextActivities": {"parent": [{"id": parent}]}})
    )
    assert await ids_of(client, activity=parent) == []
    assert await ids_of(client, activity=parent, related_activities="true") == [a]


async def test_related_agents_include_instructor(client, make_statement):
    teacher = agent("teacher@example.com")
    (a,) = await post(client, make_statement(context={"instructor": teacher}))
    assert await ids_of(client, agent=json.dumps(teacher)) == []
    assert await ids_of(client, agent=json.dumps(teacher), related_agents="true") == [a]


async def test_limit_and_more_page_through_everything_once(client, make_statement):
    posted = await post(client, *[make_statement() for _ in range(5)])
    seen = []
    response = await client.get("/xapi/statements", params={"limit": 2})
    while True:
        body = response.json()
        seen += [s["id"] for s in body["statements"]]
        if not body["more"]:
            break
        await post(client, make_statement())  # new arrivals must not disturb paging
        more = urlsplit(body["more"])
        assert more.path == "/xapi/statements"
        response = await client.get(more.path, params=parse_qsl(more.query))
    assert seen == posted[::-1]


async def test_since_and_until_bound_by_stored_time(client, make_statement):
    (first,) = await post(client, make_statement())
    stored = (await client.get("/xapi/statements", params={"statementId": first})).json()["stored"]
    (second,) = await post(client, make_statement())
    assert first not in await ids_of(client, since=stored)
    assert second in await ids_of(client, since=stored)
    assert await ids_of(client, until=stored) == [first]


async def test_voided_statement_is_hidden_but_reachable_by_voided_statement_id(
    client, make_statement
):
    (target,) = await post(client, make_statement())
    voiding = make_statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}
    )
    (voider,) = await post(client, voiding)
    assert target not in await ids_of(client)
    assert voider in await ids_of(client)
    assert (await client.get("/xapi/statements", params={"statementId": target})).status_code == 404
    got = await client.get("/xapi/statements", params={"voidedStatementId": target})
    assert got.status_code == 200 and got.json()["id"] == target


async def test_voiding_statement_cannot_itself_be_voided(client, make_statement):
    (target,) = await post(client, make_statement())
    (voider,) = await post(
        client,
        make_statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}),
    )
    await post(
        client,
        make_statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voider}),
    )
    assert (await client.get("/xapi/statements", params={"statementId": voider})).status_code == 200


async def test_statement_arriving_after_its_voiding_statement_is_voided(client, make_statement):
    target = str(uuid.uuid4())
    await post(
        client,
        make_statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}),
    )
    await post(client, make_statement(id=target))
    assert (await client.get("/xapi/statements", params={"statementId": target})).status_code == 404


async def test_statement_targeting_a_match_is_returned_by_the_filter(client, make_statement):
    activity = "http://example.com/targeted"
    (target,) = await post(client, make_statement(object={"id": activity}))
    ref = make_statement(
        verb={"id": "http://example.com/verbs/commented"},
        object={"objectType": "StatementRef", "id": target},
    )
    (referrer,) = await post(client, ref)
    assert set(await ids_of(client, activity=activity)) == {target, referrer}


async def test_two_or_three_filters_match_only_statements_that_meet_each(client, make_statement):
    x, y = agent(f"x-{uuid.uuid4()}@example.com"), agent(f"y-{uuid.uuid4()}@example.com")
    verb_v, verb_w = f"http://example.com/verbs/v-{uuid.uuid4()}", COMPLETED
    activity = {"id": f"http://example.com/a-{uuid.uuid4()}"}
    (s1, s2, s3) = await post(
        client,
        make_statement(actor=x, verb={"id": verb_v}, object=activity),
        make_statement(actor=x, verb={"id": verb_w}, object=activity),
        make_statement(actor=y, verb={"id": verb_v}, object=activity),
    )
    assert await ids_of(client, agent=json.dumps(x), verb=verb_v) == [s1]
    assert set(await ids_of(client, verb=verb_v, activity=activity["id"])) == {s1, s3}
    assert set(await ids_of(client, agent=json.dumps(x), activity=activity["id"])) == {s1, s2}
    both = {"agent": json.dumps(x), "verb": verb_v, "activity": activity["id"]}
    assert await ids_of(client, **both) == [s1]
    assert await ids_of(client, **both, related_agents="true") == [s1]
    assert await ids_of(client, agent=json.dumps(y), verb=verb_w) == []


def referring(make_statement, actor, verb, target):
    return make_statement(
        id=str(uuid.uuid4()),
        actor=actor,
        verb={"id": verb},
        object={"objectType": "StatementRef", "id": target},
    )


@pytest.mark.parametrize("order", ["target first", "referrer first", "one batch, referrer first"])
async def test_combined_filters_follow_the_statement_ref_rule_one_filter_at_a_time(
    client, make_statement, order
):
    # 2.0 4.1.6.1 "Filter Conditions for StatementRefs": each filter is met when the
    # targeting or the targeted statement meets it, so agent X + verb V finds a referrer by
    # X of a statement with verb V, whichever of the two was stored first.
    x, y = agent(f"x-{uuid.uuid4()}@example.com"), agent(f"y-{uuid.uuid4()}@example.com")
    verb_v = f"http://example.com/verbs/v-{uuid.uuid4()}"
    commented = "http://example.com/verbs/commented"
    activity = f"http://example.com/a-{uuid.uuid4()}"
    target = make_statement(
        id=str(uuid.uuid4()), actor=y, verb={"id": verb_v}, object={"id": activity}
    )
    referrer = referring(make_statement, x, commented, target["id"])
    if order == "target first":
        await post(client, target)
        await post(client, referrer)
    elif order == "referrer first":
        await post(client, referrer)
        await post(client, target)
    else:
        await post(client, referrer, target)
    assert await ids_of(client, agent=json.dumps(x), verb=verb_v) == [referrer["id"]]
    assert await ids_of(client, agent=json.dumps(x), activity=activity) == [referrer["id"]]
    assert await ids_of(client, agent=json.dumps(y), verb=commented) == [referrer["id"]]
    by_pair = await ids_of(client, verb=verb_v, activity=activity)
    assert set(by_pair) == {target["id"], referrer["id"]}


async def test_statement_id_with_other_filters_is_400(client):
    response = await client.get(
        "/xapi/statements", params={"statementId": str(uuid.uuid4()), "verb": COMPLETED}
    )
    assert response.status_code == 400


async def test_unknown_parameter_is_400(client):
    assert (await client.get("/xapi/statements", params={"foo": "bar"})).status_code == 400


@pytest.mark.parametrize("limit", ["²", "١٢", "-1", "1.5", " 7", ""])
async def test_a_limit_that_is_not_ascii_digits_is_400_naming_it(client, limit):
    # found by tests/test_fuzz.py: "²".isdigit() is true but int("²") raised, a 500
    response = await client.get("/xapi/statements", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "limit"


async def test_malformed_agent_parameter_is_400(client):
    response = await client.get("/xapi/statements", params={"agent": "{not json"})
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "agent"


async def test_ids_format_reduces_actor_to_its_identifier(client, make_statement):
    (a,) = await post(client, make_statement())
    got = await client.get("/xapi/statements", params={"statementId": a, "format": "ids"})
    assert "name" not in got.json()["actor"]
    assert got.json()["verb"] == {"id": COMPLETED}


async def test_canonical_format_keeps_one_language(client, make_statement):
    verb = {"id": COMPLETED, "display": {"en-US": "completed", "fr-FR": "terminé"}}
    (a,) = await post(client, make_statement(verb=verb))
    got = await client.get(
        "/xapi/statements",
        params={"statementId": a, "format": "canonical"},
        headers={"Accept-Language": "fr-FR"},
    )
    assert got.json()["verb"]["display"] == {"fr-FR": "terminé"}


async def test_head_returns_headers_without_body(client, make_statement):
    (a,) = await post(client, make_statement())
    response = await client.head("/xapi/statements", params={"statementId": a})
    assert response.status_code == 200
    assert response.content == b""
    assert "Last-Modified" in response.headers


async def test_query_response_carries_consistent_through(client):
    response = await client.get("/xapi/statements")
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")


async def test_voided_statements_do_not_shorten_or_break_a_page(client, make_statement):
    older = await post(client, *[make_statement() for _ in range(2)])
    targets = await post(client, *[make_statement() for _ in range(3)])
    voiders = await post(
        client,
        *[
            make_statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": t})
            for t in targets
        ],
    )
    first = await client.get("/xapi/statements", params={"limit": 4})
    ids = [s["id"] for s in first.json()["statements"]]
    assert ids == voiders[::-1] + older[-1:]
    more = urlsplit(first.json()["more"])
    rest = await client.get(more.path, params=parse_qsl(more.query))
    assert [s["id"] for s in rest.json()["statements"]] == older[:1]
