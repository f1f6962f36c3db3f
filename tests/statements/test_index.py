"""statements.index: the filter values of a statement (Communication 2.1.3 / 2.0 4.1.6.1)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statements.index import (
    VOIDED,
    agent_key,
    derive_index,
    merge_targeted,
    normalize_mbox,
    statement_ref_target,
)
from statements.types import StatementIndex

ALICE = {"mbox": "mailto:alice@example.com"}
BOB = {"objectType": "Agent", "account": {"homePage": "https://lms.example.com", "name": "bob"}}
CAROL = {"openid": "https://openid.example.com/carol"}
DAVE = {"mbox_sha1sum": "ABCDEF0123456789ABCDEF0123456789ABCDEF01"}
ALICE_KEY = "mbox::mailto:alice@example.com"
BOB_KEY = "account::https://lms.example.com::bob"
CAROL_KEY = "openid::https://openid.example.com/carol"
DAVE_KEY = "mbox_sha1sum::abcdef0123456789abcdef0123456789abcdef01"
ACTIVITY = "http://example.com/activities/course"
VERB = "http://adlnet.gov/expapi/verbs/completed"


def statement(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor": ALICE,
        "verb": {"id": VERB, "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": ACTIVITY},
    }
    base.update(overrides)
    return base


# -- agent_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "key"),
    [
        (ALICE, ALICE_KEY),
        (BOB, BOB_KEY),
        (CAROL, CAROL_KEY),
        (DAVE, DAVE_KEY),
        (
            {"objectType": "Group", "mbox": "mailto:team@example.com"},
            "mbox::mailto:team@example.com",
        ),
    ],
)
def test_agent_key_is_type_and_ifi_value(agent, key):
    assert agent_key(agent) == key


def test_anonymous_group_has_no_key():
    assert agent_key({"objectType": "Group", "member": [ALICE]}) is None


def test_agent_and_identified_group_with_same_ifi_share_a_key():
    group = {"objectType": "Group", **ALICE, "member": [BOB]}
    assert agent_key(group) == agent_key(ALICE)


@pytest.mark.parametrize(
    ("mbox", "normalized"),
    [
        ("mailto:Alice@EXAMPLE.com", "mailto:Alice@example.com"),
        ("MAILTO:alice@example.com", "mailto:alice@example.com"),
        ("mailto:a@b@Example.COM", "mailto:a@b@example.com"),
        ("no-scheme", "no-scheme"),
        ("mailto:no-at-sign", "mailto:no-at-sign"),
    ],
)
def test_mbox_domain_is_case_insensitive_but_local_part_is_not(mbox, normalized):
    assert normalize_mbox(mbox) == normalized


def test_mbox_keys_differing_only_in_domain_case_are_equal():
    assert agent_key({"mbox": "mailto:alice@Example.COM"}) == ALICE_KEY


def test_mbox_keys_differing_in_local_part_case_are_different():
    assert agent_key({"mbox": "mailto:Alice@example.com"}) != ALICE_KEY


# -- derive_index: direct filters ----------------------------------------------------------


def test_typical_statement_index():
    index = derive_index(
        statement(context={"registration": "AB5F4A0E-0000-4000-8000-000000000001"})
    )
    assert index == StatementIndex(
        verbs=(VERB,),
        agents=(ALICE_KEY,),
        related_agents=(ALICE_KEY,),
        activities=(ACTIVITY,),
        related_activities=(ACTIVITY,),
        registrations=("ab5f4a0e-0000-4000-8000-000000000001",),
        voids=None,
    )


def test_object_without_object_type_is_an_activity():
    index = derive_index(statement(object={"id": ACTIVITY}))
    assert index.activities == (ACTIVITY,)


def test_agent_as_object_matches_agent_filter():
    index = derive_index(statement(object={"objectType": "Agent", **BOB}))
    assert index.agents == (ALICE_KEY, BOB_KEY)
    assert index.activities == ()


def test_group_member_matches_agent_filter():
    group = {"objectType": "Group", "mbox": "mailto:team@example.com", "member": [BOB, CAROL]}
    index = derive_index(statement(actor=group))
    assert index.agents == ("mbox::mailto:team@example.com", BOB_KEY, CAROL_KEY)


def test_anonymous_group_members_match_agent_filter():
    index = derive_index(statement(actor={"objectType": "Group", "member": [BOB, CAROL]}))
    assert index.agents == (BOB_KEY, CAROL_KEY)


def test_group_as_object_members_match_agent_filter():
    group = {"objectType": "Group", "member": [BOB]}
    assert derive_index(statement(object=group)).agents == (ALICE_KEY, BOB_KEY)


def test_agent_filter_does_not_reach_authority_context_or_substatement():
    index = derive_index(
        statement(
            authority=BOB,
            context={"instructor": CAROL},
            object={
                "objectType": "SubStatement",
                "actor": DAVE,
                "verb": {"id": VERB},
                "object": {"id": "http://example.com/sub"},
            },
        )
    )
    assert index.agents == (ALICE_KEY,)
    assert index.activities == ()


def test_agents_are_deduplicated_in_order():
    group = {"objectType": "Group", "member": [ALICE, BOB, ALICE]}
    index = derive_index(statement(actor=group, object={"objectType": "Agent", **BOB}))
    assert index.agents == (ALICE_KEY, BOB_KEY)


# -- derive_index: related_* ----------------------------------------------------------------


def test_related_agents_include_authority_instructor_and_team_with_members():
    oauth = {"objectType": "Group", "member": [BOB, {"account": {"homePage": "h", "name": "app"}}]}
    team = {"objectType": "Group", "openid": "https://t.example.com", "member": [DAVE]}
    index = derive_index(statement(authority=oauth, context={"instructor": CAROL, "team": team}))
    assert index.related_agents == (
        ALICE_KEY,
        BOB_KEY,
        "account::h::app",
        CAROL_KEY,
        "openid::https://t.example.com",
        DAVE_KEY,
    )


def test_related_agents_include_2_0_context_agents_and_context_groups():
    context = {
        "contextAgents": [{"objectType": "contextAgent", "agent": BOB, "relevantTypes": ["x:y"]}],
        "contextGroups": [
            {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [CAROL]}}
        ],
    }
    index = derive_index(statement(context=context))
    assert index.related_agents == (ALICE_KEY, BOB_KEY, CAROL_KEY)


def test_related_agents_and_activities_reach_into_substatement():
    sub = {
        "objectType": "SubStatement",
        "actor": BOB,
        "verb": {"id": VERB},
        "object": {"objectType": "Agent", **CAROL},
        "context": {
            "instructor": DAVE,
            "contextActivities": {"parent": {"id": "http://example.com/sub-parent"}},
        },
    }
    index = derive_index(statement(object=sub))
    assert index.related_agents == (ALICE_KEY, BOB_KEY, CAROL_KEY, DAVE_KEY)
    assert index.related_activities == ("http://example.com/sub-parent",)
    assert index.activities == ()


def test_substatement_object_activity_is_related_but_not_direct():
    sub = {
        "objectType": "SubStatement",
        "actor": BOB,
        "verb": {"id": VERB},
        "object": {"id": "x:a"},
    }
    index = derive_index(statement(object=sub))
    assert index.activities == ()
    assert index.related_activities == ("x:a",)


@pytest.mark.parametrize("kind", ["parent", "grouping", "category", "other"])
@pytest.mark.parametrize("as_list", [True, False])
def test_related_activities_include_every_context_activity(kind, as_list):
    activity = {"id": f"http://example.com/{kind}"}
    context = {"contextActivities": {kind: [activity] if as_list else activity}}
    index = derive_index(statement(context=context))
    assert index.activities == (ACTIVITY,)
    assert index.related_activities == (ACTIVITY, f"http://example.com/{kind}")


def test_related_activities_are_deduplicated_in_order():
    context = {
        "contextActivities": {
            "parent": [{"id": "x:p"}, {"id": ACTIVITY}],
            "grouping": [{"id": "x:p"}],
            "category": [{"id": "x:c"}],
        }
    }
    index = derive_index(statement(context=context))
    assert index.related_activities == (ACTIVITY, "x:p", "x:c")


def test_substatement_registration_is_not_the_statement_registration():
    sub = {
        "objectType": "SubStatement",
        "actor": BOB,
        "verb": {"id": VERB},
        "object": {"id": "x:a"},
        "context": {"registration": "ab5f4a0e-0000-4000-8000-000000000001"},
    }
    assert derive_index(statement(object=sub)).registrations == ()


# -- StatementRefs and voiding ---------------------------------------------------------------

REF_ID = "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"


def test_voiding_statement_names_its_target_lowercased():
    voiding = statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": REF_ID})
    index = derive_index(voiding)
    assert index.voids == REF_ID.lower()
    assert index.activities == ()
    assert statement_ref_target(voiding) == REF_ID.lower()


def test_statement_ref_with_another_verb_targets_but_does_not_void():
    ref = statement(object={"objectType": "StatementRef", "id": REF_ID})
    assert derive_index(ref).voids is None
    assert statement_ref_target(ref) == REF_ID.lower()


def test_statement_ref_in_context_is_not_a_target():
    ref = statement(context={"statement": {"objectType": "StatementRef", "id": REF_ID}})
    assert statement_ref_target(ref) is None


def test_targeting_statement_matches_what_the_target_matches():
    target = derive_index(statement(context={"registration": "r-1", "instructor": BOB}))
    own = derive_index(
        statement(
            actor=CAROL,
            verb={"id": "http://example.com/confirmed"},
            object={"objectType": "StatementRef", "id": REF_ID},
        )
    )
    merged = merge_targeted(own, target)
    assert merged.verbs == ("http://example.com/confirmed", VERB)
    assert merged.agents == (CAROL_KEY, ALICE_KEY)
    assert merged.related_agents == (CAROL_KEY, ALICE_KEY, BOB_KEY)
    assert merged.activities == (ACTIVITY,)
    assert merged.related_activities == (ACTIVITY,)
    assert merged.registrations == ("r-1",)
    assert merged.voids is None


def test_targeting_rule_applies_recursively():
    c = derive_index(statement(actor=DAVE))
    b = merge_targeted(
        derive_index(statement(actor=BOB, object={"objectType": "StatementRef", "id": "c"})), c
    )
    a = merge_targeted(
        derive_index(statement(actor=CAROL, object={"objectType": "StatementRef", "id": "b"})), b
    )
    assert DAVE_KEY in a.agents and BOB_KEY in a.agents and CAROL_KEY in a.agents


def test_merge_keeps_the_voiding_target_of_the_targeting_statement():
    voiding = derive_index(
        statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": "x"})
    )
    merged = merge_targeted(voiding, derive_index(statement()))
    assert merged.voids == "x"
    assert merged.verbs == (VOIDED, VERB)


# -- robustness -----------------------------------------------------------------------------


def test_minimal_statement_without_optional_properties():
    index = derive_index({"actor": ALICE, "verb": {"id": VERB}, "object": {"id": ACTIVITY}})
    assert index.registrations == () and index.voids is None


def test_derive_index_does_not_mutate_the_statement():
    original = statement(
        context={
            "contextActivities": {"parent": {"id": "x:p"}},
            "team": {"objectType": "Group", "member": [BOB]},
        }
    )
    snapshot = copy.deepcopy(original)
    derive_index(original)
    assert original == snapshot
