"""statements.canonical: GET /statements `format=ids` and `format=canonical`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statements.canonical import (
    best_language,
    canonical_format,
    ids_format,
    parse_accept_language,
)

AGENT = {"objectType": "Agent", "name": "Alice", "mbox": "mailto:alice@example.com"}
MEMBER = {"name": "Bob", "account": {"homePage": "https://h.example.com", "name": "bob"}}
GROUP = {
    "objectType": "Group",
    "name": "Team",
    "openid": "https://t.example.com",
    "member": [MEMBER],
}
ANONYMOUS = {"objectType": "Group", "name": "Anon", "member": [AGENT, MEMBER]}
NAMES = {"en-US": "Course", "en-GB": "Course (GB)", "fr": "Cours"}
ACTIVITY: dict[str, Any] = {
    "objectType": "Activity",
    "id": "http://example.com/course",
    "definition": {
        "name": NAMES,
        "description": {"en-US": "A course", "de": "Ein Kurs"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "choice",
        "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en-US": "A", "fr": "A (fr)"}}, {"id": "b"}],
        "extensions": {"http://example.com/ext": {"en-US": "kept whole"}},
    },
}
VERB = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "did", "fr": "fait"}}


def full_statement() -> dict[str, Any]:
    return {
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": copy.deepcopy(ANONYMOUS),
        "verb": copy.deepcopy(VERB),
        "object": {
            "objectType": "SubStatement",
            "actor": copy.deepcopy(GROUP),
            "verb": copy.deepcopy(VERB),
            "object": copy.deepcopy(ACTIVITY),
            "context": {"contextActivities": {"parent": copy.deepcopy(ACTIVITY)}},
        },
        "result": {"success": True},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": copy.deepcopy(AGENT),
            "team": copy.deepcopy(GROUP),
            "contextActivities": {
                "parent": [copy.deepcopy(ACTIVITY)],
                "category": {"id": "http://example.com/cat", "definition": {"name": NAMES}},
            },
            "contextAgents": [{"objectType": "contextAgent", "agent": copy.deepcopy(AGENT)}],
            "contextGroups": [{"objectType": "contextGroup", "group": copy.deepcopy(ANONYMOUS)}],
            "statement": {
                "objectType": "StatementRef",
                "id": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            },
        },
        "timestamp": "2024-01-02T03:04:05.678Z",
        "stored": "2024-01-02T03:04:05.678Z",
        "authority": {
            "objectType": "Group",
            "member": [
                {"account": {"homePage": "https://lrs", "name": "app"}, "name": "App"},
                AGENT,
            ],
        },
        "version": "2.0.0",
    }


# -- format=ids ------------------------------------------------------------------------------

AGENT_IDS = {"objectType": "Agent", "mbox": "mailto:alice@example.com"}
MEMBER_IDS = {"account": {"homePage": "https://h.example.com", "name": "bob"}}
GROUP_IDS = {"objectType": "Group", "openid": "https://t.example.com"}
ANONYMOUS_IDS = {"objectType": "Group", "member": [AGENT_IDS, MEMBER_IDS]}
ACTIVITY_IDS = {"id": "http://example.com/course"}
VERB_IDS = {"id": "http://adlnet.gov/expapi/verbs/completed"}


def test_ids_format_reduces_every_agent_group_activity_and_verb():
    ids = ids_format(full_statement())
    assert ids["actor"] == ANONYMOUS_IDS
    assert ids["verb"] == VERB_IDS
    assert ids["object"] == {
        "objectType": "SubStatement",
        "actor": GROUP_IDS,
        "verb": VERB_IDS,
        "object": ACTIVITY_IDS,
        "context": {"contextActivities": {"parent": [ACTIVITY_IDS]}},
    }
    context = ids["context"]
    assert context["instructor"] == AGENT_IDS
    assert context["team"] == GROUP_IDS
    assert context["contextActivities"] == {
        "parent": [ACTIVITY_IDS],
        "category": [{"id": "http://example.com/cat"}],
    }
    assert context["contextAgents"] == [{"objectType": "contextAgent", "agent": AGENT_IDS}]
    assert context["contextGroups"] == [{"objectType": "contextGroup", "group": ANONYMOUS_IDS}]
    assert ids["authority"] == {
        "objectType": "Group",
        "member": [{"account": {"homePage": "https://lrs", "name": "app"}}, AGENT_IDS],
    }


def test_ids_format_keeps_everything_that_is_not_an_agent_activity_or_verb():
    original = full_statement()
    ids = ids_format(original)
    for name in ("id", "result", "timestamp", "stored", "version"):
        assert ids[name] == original[name]
    assert ids["context"]["registration"] == original["context"]["registration"]
    assert ids["context"]["statement"] == original["context"]["statement"]
    assert list(ids) == list(original)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ({"name": "n", "mbox": "mailto:a@b.c"}, {"mbox": "mailto:a@b.c"}),
        (
            {"objectType": "Agent", "mbox_sha1sum": "ab" * 20},
            {"objectType": "Agent", "mbox_sha1sum": "ab" * 20},
        ),
        (
            {"objectType": "Group", "mbox": "mailto:g@b.c", "member": [AGENT]},
            {"objectType": "Group", "mbox": "mailto:g@b.c"},
        ),
    ],
)
def test_ids_format_agent_is_object_type_and_ifi(agent, expected):
    statement = {"actor": agent, "verb": VERB, "object": {"id": "x:a"}}
    assert ids_format(statement)["actor"] == expected


def test_ids_format_agent_object_and_statement_ref_object():
    agent_object = {"actor": AGENT, "verb": VERB, "object": {**AGENT, "name": "X"}}
    assert ids_format(agent_object)["object"] == AGENT_IDS
    ref = {"objectType": "StatementRef", "id": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}
    assert ids_format({"actor": AGENT, "verb": VERB, "object": ref})["object"] == ref


def test_conformance_shape_of_ids_format():
    """The ADL suite (XAPI-00171) counts keys: verb 1, activity 1, identified group 2."""
    ids = ids_format(full_statement())
    assert len(ids["verb"]) == 1
    assert len(ids["object"]["object"]) == 1
    assert len(ids["object"]["actor"]) == 2


def test_ids_format_never_mutates_the_input():
    original = full_statement()
    snapshot = copy.deepcopy(original)
    ids_format(original)
    assert original == snapshot


def test_ids_format_of_minimal_statement():
    minimal = {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:v"}, "object": {"id": "x:a"}}
    assert ids_format(minimal) == minimal


# -- format=canonical ------------------------------------------------------------------------


def test_canonical_format_keeps_one_language_per_activity_and_verb_map():
    out = canonical_format(full_statement(), ["fr"])
    assert out["verb"]["display"] == {"fr": "fait"}
    sub = out["object"]
    assert sub["verb"]["display"] == {"fr": "fait"}
    definition = sub["object"]["definition"]
    assert definition["name"] == {"fr": "Cours"}
    assert definition["description"] == {"en-US": "A course"}  # no fr: first entry
    assert definition["choices"] == [{"id": "a", "description": {"fr": "A (fr)"}}, {"id": "b"}]
    assert definition["extensions"] == ACTIVITY["definition"]["extensions"]
    assert definition["type"] == ACTIVITY["definition"]["type"]
    assert sub["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {"fr": "Cours"}
    context_activities = out["context"]["contextActivities"]
    assert context_activities["parent"][0]["definition"]["name"] == {"fr": "Cours"}
    assert context_activities["category"][0]["definition"]["name"] == {"fr": "Cours"}


def test_canonical_format_returns_agents_and_groups_exactly():
    original = full_statement()
    out = canonical_format(original, ["fr"])
    assert out["actor"] == original["actor"]
    assert out["object"]["actor"] == original["object"]["actor"]
    assert out["context"]["instructor"] == original["context"]["instructor"]
    assert out["context"]["contextGroups"] == original["context"]["contextGroups"]
    assert out["authority"] == original["authority"]


def test_conformance_accept_language_en_gb_picks_en_gb():
    """The ADL suite (XAPI-00172) sends `Accept-Language: en-GB` with en, en-GB, en-US maps."""
    statement = {
        "actor": AGENT,
        "verb": {"id": "x:v", "display": {"en-GB": "attended", "en-US": "attended"}},
        "object": {
            "id": "x:a",
            "definition": {"name": {"en": "Other", "en-GB": "gb", "en-US": "us"}},
        },
    }
    out = canonical_format(statement, parse_accept_language("en-GB"))
    assert out["verb"]["display"] == {"en-GB": "attended"}
    assert out["object"]["definition"]["name"] == {"en-GB": "gb"}


def test_canonical_definitions_replace_the_statement_definition():
    canonical = {"name": {"en-US": "Canonical", "fr": "Canonique"}}
    out = canonical_format(full_statement(), ["fr"], definitions={ACTIVITY["id"]: canonical})
    assert out["object"]["object"]["definition"] == {"name": {"fr": "Canonique"}}


def test_canonical_format_never_mutates_the_input():
    original = full_statement()
    snapshot = copy.deepcopy(original)
    canonical_format(original, ["de"])
    assert original == snapshot


def test_canonical_format_of_statement_without_language_maps():
    minimal = {"actor": AGENT, "verb": {"id": "x:v"}, "object": {"objectType": "Agent", **AGENT}}
    assert canonical_format(minimal, ["en"]) == minimal


@pytest.mark.parametrize("transform", [ids_format, lambda s: canonical_format(s, ["en"])])
def test_unexpected_shapes_pass_through_without_crashing(transform):
    """Validation runs first; the formats still never raise on a shape they do not expect."""
    odd = {
        "actor": {"objectType": "Group", "member": "nobody"},
        "verb": {"display": {"en": "x"}},
        "object": {"objectType": "Activity", "definition": "none"},
        "context": {
            "instructor": "someone",
            "contextActivities": {"parent": "x:p", "other": ["x:o"]},
            "contextAgents": ["x", {"agent": "y"}],
            "contextGroups": "none",
        },
        "authority": "lrs",
    }
    out = transform(odd)
    assert out["context"]["contextActivities"]["parent"] == "x:p"
    assert out["context"]["contextActivities"]["other"] == ["x:o"]
    assert out["context"]["contextAgents"] == ["x", {"agent": "y"}]


def test_canonical_format_leaves_an_activity_without_definition_alone():
    statement = {"actor": AGENT, "verb": {"id": "x:v"}, "object": {"id": "x:a"}}
    assert canonical_format(statement, ["en"])["object"] == {"id": "x:a"}


# -- language negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("en-GB", ["en-GB"]),
        ("fr;q=0.5, en-US, de;q=0.9", ["en-US", "de", "fr"]),
        ("da, en-gb;q=0.8, en;q=0.7", ["da", "en-gb", "en"]),
        ("fr;q=0.5, es;q=0.5, *;q=0.1", ["fr", "es", "*"]),
        ("en;q=0, fr", ["fr"]),
        ("en;q=abc, fr", ["fr"]),
        ("en;q=2, fr", ["fr"]),
        ("en; Q=0.4 ,fr;level=1", ["fr", "en"]),
        (" , ,en", ["en"]),
    ],
)
def test_parse_accept_language_orders_by_quality(header, expected):
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["en-GB"], "en-GB"),
        (["EN-gb"], "en-GB"),
        (["de", "fr"], "fr"),
        (["en"], "en"),
        (["pt"], "en-US"),
        ([], "en-US"),
        (["*"], "en-US"),
        (["de", "*"], "en-US"),
    ],
)
def test_best_language_in_preference_order(languages, expected):
    assert best_language({"en-US": 1, "en": 2, "en-GB": 3, "fr": 4}, languages) == expected


def test_range_matches_more_specific_tag():
    assert best_language({"fr": 1, "en-US": 2}, ["en"]) == "en-US"


def test_lookup_truncates_the_range():
    assert best_language({"fr": 1, "en": 2, "en-US": 3}, ["en-GB-oxendict"]) == "en"


def test_same_primary_language_before_other_languages():
    assert best_language({"fr": 1, "en-US": 2}, ["en-GB"]) == "en-US"


def test_exact_preference_beats_fallback_of_better_preference():
    assert best_language({"en": 1, "fr-CA": 2}, ["de-AT", "fr-CA"]) == "fr-CA"


def test_und_before_first_entry():
    assert best_language({"fr": 1, "und": 2}, ["de"]) == "und"


def test_empty_language_map_has_no_best_language():
    assert best_language({}, ["en"]) is None
