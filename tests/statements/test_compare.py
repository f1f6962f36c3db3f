"""statements.compare: Statement Comparison Requirements (1.0.3 Data 2.3.1, 2.0 4.2)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from statements.compare import json_equal, statements_equivalent

SUB_ID = "http://example.com/sub"
ID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
REGISTRATION = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"


def base() -> dict[str, Any]:
    return {
        "id": ID,
        "actor": {"objectType": "Agent", "name": "Alice", "mbox": "mailto:alice@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "done"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/course",
            "definition": {"name": {"en-US": "Course"}},
        },
        "result": {"success": True, "score": {"scaled": 0.5}, "duration": "PT1M30.25S"},
        "context": {
            "registration": REGISTRATION,
            "language": "en-US",
            "contextActivities": {"parent": [{"id": "http://example.com/parent"}]},
            "extensions": {"http://example.com/ext": {"a": [1, 2], "b": True}},
        },
        "timestamp": "2024-01-02T03:04:05.678Z",
    }


def changed(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    statement = base()
    mutate(statement)
    return statement


def test_a_statement_is_equivalent_to_itself_and_a_deep_copy():
    assert statements_equivalent(base(), base())
    assert statements_equivalent(base(), copy.deepcopy(base()))


# -- properties the LRS assigns or that are not part of the statement -----------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s.pop("id"), id="id-missing"),
        pytest.param(lambda s: s.update(id="00000000-0000-4000-8000-000000000000"), id="id"),
        pytest.param(lambda s: s.update(stored="2024-05-05T00:00:00Z"), id="stored"),
        pytest.param(lambda s: s.update(version="1.0.0"), id="version"),
        pytest.param(lambda s: s.pop("timestamp"), id="timestamp-missing"),
        pytest.param(lambda s: s.update(timestamp="2030-01-01T00:00:00Z"), id="timestamp"),
        pytest.param(
            lambda s: s.update(authority={"mbox": "mailto:lrs@example.com"}), id="authority"
        ),
        pytest.param(lambda s: s.update(attachments=[{"usageType": "x:y"}]), id="attachments"),
        pytest.param(lambda s: s["verb"].pop("display"), id="verb-display-missing"),
        pytest.param(lambda s: s["verb"].update(display={"fr": "fini"}), id="verb-display"),
        pytest.param(lambda s: s["object"].pop("definition"), id="activity-definition-missing"),
        pytest.param(
            lambda s: s["object"].update(definition={"type": "x:t"}), id="activity-definition"
        ),
        pytest.param(
            lambda s: s["context"]["contextActivities"]["parent"][0].update(definition={"a": 1}),
            id="context-activity-definition",
        ),
    ],
)
def test_exceptions_to_immutability_are_ignored(mutate):
    assert statements_equivalent(base(), changed(mutate))


# -- serialization differences that are not differences ------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s["actor"].pop("objectType"), id="actor-default-agent"),
        pytest.param(lambda s: s["object"].pop("objectType"), id="object-default-activity"),
        pytest.param(
            lambda s: s["context"]["contextActivities"].update(
                parent={"id": "http://example.com/parent"}
            ),
            id="context-activity-single-object",
        ),
        pytest.param(
            lambda s: s["context"]["contextActivities"]["parent"][0].update(objectType="Activity"),
            id="context-activity-explicit-type",
        ),
        pytest.param(lambda s: s["context"].update(registration=REGISTRATION.upper()), id="uuid"),
        pytest.param(lambda s: s["context"].update(language="EN-us"), id="language-tag"),
        pytest.param(
            lambda s: s["actor"].update(mbox="mailto:alice@EXAMPLE.COM"), id="mbox-domain"
        ),
        pytest.param(lambda s: s["result"]["score"].update(scaled=0.50), id="number"),
        pytest.param(lambda s: s["result"].update(duration="PT1M30.259S"), id="duration-1/1000"),
        pytest.param(
            lambda s: s.update(result=dict(reversed(list(s["result"].items())))), id="key-order"
        ),
        pytest.param(
            lambda s: s["context"]["extensions"].update(
                {"http://example.com/ext": {"b": True, "a": [1, 2]}}
            ),
            id="extension-key-order",
        ),
    ],
)
def test_equivalent_serializations_are_equal(mutate):
    assert statements_equivalent(base(), changed(mutate))
    assert statements_equivalent(changed(mutate), base())


# -- real differences -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s["actor"].update(name="Alicia"), id="actor-name"),
        pytest.param(lambda s: s["actor"].update(mbox="mailto:Alice@example.com"), id="mbox-local"),
        pytest.param(lambda s: s["actor"].update(objectType="Group"), id="actor-type"),
        pytest.param(lambda s: s["verb"].update(id="http://example.com/other"), id="verb-id"),
        pytest.param(lambda s: s["object"].update(id="http://example.com/COURSE"), id="iri-case"),
        pytest.param(lambda s: s["object"].update(objectType="Agent"), id="object-type"),
        pytest.param(lambda s: s.pop("result"), id="result-missing"),
        pytest.param(lambda s: s["result"].update(success=False), id="success"),
        pytest.param(lambda s: s["result"].update(response="x"), id="result-added-property"),
        pytest.param(lambda s: s["result"].update(duration="PT1M30.26S"), id="duration-1/100"),
        pytest.param(lambda s: s["result"].update(duration="PT90.25S"), id="duration-units"),
        pytest.param(lambda s: s["result"]["score"].update(scaled=0.51), id="score"),
        pytest.param(lambda s: s["context"].pop("registration"), id="registration-missing"),
        pytest.param(
            lambda s: s["context"]["contextActivities"]["parent"].append({"id": "x:p2"}),
            id="context-activity-added",
        ),
        pytest.param(
            lambda s: s["context"]["contextActivities"].update(grouping=[{"id": "x:g"}]),
            id="context-activity-kind-added",
        ),
        pytest.param(
            lambda s: s["context"]["extensions"]["http://example.com/ext"].update(b=1),
            id="extension-true-vs-1",
        ),
        pytest.param(
            lambda s: s["context"]["extensions"]["http://example.com/ext"].update(a=[2, 1]),
            id="extension-list-order",
        ),
        pytest.param(
            lambda s: s["context"]["extensions"].update({"http://example.com/EXT": 1}),
            id="extension-key-added",
        ),
        pytest.param(lambda s: s["context"].update(platform="web"), id="context-added-property"),
    ],
)
def test_differences_not_covered_by_an_exception_count(mutate):
    assert not statements_equivalent(base(), changed(mutate))
    assert not statements_equivalent(changed(mutate), base())


# -- groups ---------------------------------------------------------------------------------

A = {"mbox": "mailto:a@example.com"}
B = {"objectType": "Agent", "account": {"homePage": "https://h.example.com", "name": "b"}}
C = {"openid": "https://openid.example.com/c"}


def with_actor(actor: dict[str, Any]) -> dict[str, Any]:
    return changed(lambda s: s.update(actor=actor))


def test_group_member_order_is_ignored():
    first = with_actor({"objectType": "Group", "member": [A, B, C]})
    second = with_actor({"objectType": "Group", "member": [C, A, B]})
    assert statements_equivalent(first, second)


def test_group_members_compare_with_agent_rules():
    first = with_actor({"objectType": "Group", "member": [A, B]})
    second = with_actor(
        {
            "objectType": "Group",
            "member": [{**B, "objectType": "Agent"}, {**A, "objectType": "Agent"}],
        }
    )
    assert statements_equivalent(first, second)


@pytest.mark.parametrize(
    "members",
    [[A, B], [A, B, C, C], [A, B, {"mbox": "mailto:d@example.com"}], [A, A, B]],
)
def test_group_members_are_a_multiset(members):
    group = with_actor({"objectType": "Group", "member": [A, B, C]})
    assert not statements_equivalent(group, with_actor({"objectType": "Group", "member": members}))


def test_single_member_groups_compare_their_member():
    first = with_actor({"objectType": "Group", "member": [A]})
    assert statements_equivalent(
        first, with_actor({"objectType": "Group", "member": [{**A, "objectType": "Agent"}]})
    )
    assert not statements_equivalent(first, with_actor({"objectType": "Group", "member": [B]}))


def test_mbox_sha1sum_is_hex_and_case_insensitive():
    first = with_actor({"mbox_sha1sum": "ABCDEF0123456789ABCDEF0123456789ABCDEF01"})
    second = with_actor({"mbox_sha1sum": "abcdef0123456789abcdef0123456789abcdef01"})
    assert statements_equivalent(first, second)


def test_member_with_boolean_like_values_is_not_confused_with_numbers():
    first = with_actor({"objectType": "Group", "member": [A, {"x": True}]})
    second = with_actor({"objectType": "Group", "member": [A, {"x": 1}]})
    assert not statements_equivalent(first, second)


# -- objects of each kind -------------------------------------------------------------------


def sub_statement(**overrides: Any) -> dict[str, Any]:
    sub: dict[str, Any] = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:b@example.com"},
        "verb": {"id": "x:v", "display": {"en": "v"}},
        "object": {"id": SUB_ID},
        "timestamp": "2024-01-02T03:04:05.678Z",
        "context": {"contextActivities": {"other": [{"id": "x:o"}]}},
    }
    sub.update(overrides)
    return changed(lambda s: s.update(object=sub))


@pytest.mark.parametrize(
    "overrides",
    [
        {"timestamp": "2024-01-02T05:04:05.678+02:00"},
        {"timestamp": "2024-01-02T03:04:05.6789Z"},
        {"timestamp": "2024-01-02t03:04:05.678z"},
        {"verb": {"id": "x:v"}},
        {"object": {"objectType": "Activity", "id": SUB_ID, "definition": {}}},
        {"context": {"contextActivities": {"other": {"id": "x:o"}}}},
    ],
)
def test_substatement_follows_the_same_rules(overrides):
    assert statements_equivalent(sub_statement(), sub_statement(**overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"timestamp": "2024-01-02T03:04:05.679Z"},
        {"timestamp": "not a timestamp"},
        {"timestamp": 1704164645},
        {"actor": {"mbox": "mailto:c@example.com"}},
        {"object": {"id": "x:other"}},
        {"context": {"contextActivities": {"other": [{"id": "x:o2"}]}}},
    ],
)
def test_substatement_differences_count(overrides):
    assert not statements_equivalent(sub_statement(), sub_statement(**overrides))


def test_substatement_timestamp_is_compared_not_ignored():
    without = changed(
        lambda s: s.update(
            object={k: v for k, v in sub_statement()["object"].items() if k != "timestamp"}
        )
    )
    assert not statements_equivalent(sub_statement(), without)


def test_statement_ref_ids_are_case_insensitive():
    first = changed(lambda s: s.update(object={"objectType": "StatementRef", "id": ID}))
    second = changed(lambda s: s.update(object={"objectType": "StatementRef", "id": ID.upper()}))
    third = changed(lambda s: s.update(object={"objectType": "StatementRef", "id": REGISTRATION}))
    assert statements_equivalent(first, second)
    assert not statements_equivalent(first, third)


def test_agent_object_is_not_an_activity():
    agent = changed(lambda s: s.update(object={"objectType": "Agent", **A}))
    group = changed(lambda s: s.update(object={"objectType": "Group", **A}))
    assert statements_equivalent(agent, copy.deepcopy(agent))
    assert not statements_equivalent(agent, group)


def test_context_statement_ref_id_is_case_insensitive():
    ref = {"objectType": "StatementRef", "id": ID}
    first = changed(lambda s: s["context"].update(statement=ref))
    second = changed(lambda s: s["context"].update(statement={**ref, "id": ID.upper()}))
    assert statements_equivalent(first, second)


def test_context_instructor_and_team_use_agent_rules():
    def context(instructor: dict[str, Any]) -> dict[str, Any]:
        team = {"objectType": "Group", "member": [A, B]}
        return changed(lambda s: s["context"].update(instructor=instructor, team=team))

    assert statements_equivalent(context(A), context({**A, "objectType": "Agent"}))
    assert not statements_equivalent(context(A), context(B))


def test_2_0_context_agents_and_groups_use_agent_rules():
    def context(agent: dict[str, Any], members: list[Any]) -> dict[str, Any]:
        return changed(
            lambda s: s["context"].update(
                contextAgents=[
                    {"objectType": "contextAgent", "agent": agent, "relevantTypes": ["x:t"]}
                ],
                contextGroups=[
                    {
                        "objectType": "contextGroup",
                        "group": {"objectType": "Group", "member": members},
                    }
                ],
            )
        )

    assert statements_equivalent(context(A, [A, B]), context({**A, "objectType": "Agent"}, [B, A]))
    assert not statements_equivalent(context(A, [A, B]), context(B, [A, B]))


# -- json_equal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (1, True, False),
        (False, 0, False),
        (None, None, True),
        ("1", 1, False),
        ({"a": 1}, {"a": 1, "b": None}, False),
        ({"a": 1}, [("a", 1)], False),
        ([1, [2, {"x": "y"}]], [1, [2, {"x": "y"}]], True),
        ([1, 2], [1, 2, 3], False),
        ("a", {"a": 1}, False),
        ("a", ["a"], False),
    ],
)
def test_json_equal(a, b, equal):
    assert json_equal(a, b) is equal


@pytest.mark.parametrize(
    ("path", "a", "b"),
    [
        (("actor",), "mailto:a@example.com", {"mbox": "mailto:a@example.com"}),
        (("actor", "mbox"), 1, "mailto:a@example.com"),
        (("actor", "mbox_sha1sum"), ["ab"], "ab"),
        (("actor", "member"), {"mbox": "mailto:a@example.com"}, [A]),
        (("actor", "member"), ["x", A], [A, "y"]),
        (
            ("context", "contextActivities", "parent"),
            [{"id": "x:p", "objectType": "Agent"}],
            [{"id": "x:p"}],
        ),
        (("object", "timestamp"), 1, "2024-01-02T03:04:05.678Z"),
        (("actor", "member"), [{"mbox_sha1sum": "AB", "n": [1]}, A], [A, {"mbox_sha1sum": "ab"}]),
        (("verb",), "x:v", {"id": "x:v"}),
        (("object",), "x:a", {"id": "x:a"}),
        (("object",), {"objectType": "Other", "id": "x"}, {"objectType": "Other", "id": "y"}),
        (("context", "contextActivities"), [], {"parent": []}),
        (("context", "contextActivities", "parent"), "x:p", [{"id": "x:p"}]),
        (("context", "contextActivities", "parent"), ["x:p"], [{"id": "x:p"}]),
        (("context", "contextAgents"), {"agent": A}, [{"agent": A}]),
        (("context", "statement"), "x", {"id": "x"}),
        (("result", "duration"), 90, "PT90S"),
        (("result", "duration"), "P1D", "P2D"),
        (("result",), "done", {"success": True}),
    ],
)
def test_malformed_shapes_are_differences_not_crashes(path, a, b):
    """Validation runs first, but comparison must never raise on an unexpected shape."""

    def put(value: Any) -> dict[str, Any]:
        statement = base()
        target = statement
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value
        return statement

    assert not statements_equivalent(put(a), put(b))
    assert statements_equivalent(put(b), put(copy.deepcopy(b)))


def test_timestamps_without_offset_are_utc():
    first = sub_statement(timestamp="2024-01-02T03:04:05.678")
    assert statements_equivalent(first, sub_statement())


def test_compare_does_not_mutate_its_arguments():
    first, second = (
        sub_statement(),
        sub_statement(context={"contextActivities": {"other": {"id": "x:o"}}}),
    )
    snapshots = copy.deepcopy((first, second))
    statements_equivalent(first, second)
    assert (first, second) == snapshots
