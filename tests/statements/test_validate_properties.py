"""Statement validation of the parts beyond actor, verb and object: interaction activities,
result, context, timestamps, version, authority, attachments and voiding."""

import copy
from typing import Any

import pytest

from tests.statements.test_validate import (
    DELETE,
    SUBSTATEMENT,
    UUID_A,
    make_statement,
    mutated,
    set_at,
    violations,
    with_substatement,
)

SIG_USAGE = "http://adlnet.gov/expapi/attachments/signature"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture(params=["1.0.3", "2.0.0"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Interaction activities (1.0.3 Data 2.4.4.1, 2.0 4.2.2.3) -------------------------------------


def component_list(*ids: str) -> list[dict[str, Any]]:
    return [{"id": ident, "description": {"en-US": ident.title()}} for ident in ids]


INTERACTIONS: dict[str, dict[str, Any]] = {
    "true-false": {"correctResponsesPattern": ["true"]},
    "choice": {
        "correctResponsesPattern": ["golf[,]tetris"],
        "choices": component_list("golf", "tetris"),
    },
    "fill-in": {"correctResponsesPattern": ["Bob's your uncle"]},
    "long-fill-in": {"correctResponsesPattern": ["{case_matters=true}Long text"]},
    "matching": {
        "correctResponsesPattern": ["ben[.]3"],
        "source": component_list("ben", "chris"),
        "target": component_list("1", "3"),
    },
    "performance": {"correctResponsesPattern": ["pong[.]1:"], "steps": component_list("pong")},
    "sequencing": {"correctResponsesPattern": ["a[,]b"], "choices": component_list("a", "b")},
    "likert": {"correctResponsesPattern": ["likert_3"], "scale": component_list("likert_3")},
    "numeric": {"correctResponsesPattern": ["4[:]"]},
    "other": {"correctResponsesPattern": ["(35.937432,-86.868896)"]},
}


def interaction(kind: str | None, **properties: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        **copy.deepcopy(INTERACTIONS.get(kind or "", {})),
        **properties,
    }
    if kind is not None:
        definition["interactionType"] = kind
    return make_statement(object={"id": "http://example.com/q1", "definition": definition})


@pytest.mark.parametrize("kind", list(INTERACTIONS))
def test_each_interaction_type_is_accepted(version, kind):
    assert violations(interaction(kind), version) == []


@pytest.mark.parametrize(
    "value", ["true-faLse", "choiCe", "Other", "http://ex.com/choice", "essay", 12345, {"k": "v"}]
)
def test_interaction_type_outside_the_vocabulary_is_rejected(value):
    expected = "interaction.type" if isinstance(value, str) else "type.string"
    statement = interaction("choice")
    set_at(statement, "/object/definition/interactionType", value)
    assert violations(statement) == [("/object/definition/interactionType", expected)]


@pytest.mark.parametrize(
    "properties",
    [
        {"correctResponsesPattern": ["true"]},
        {"choices": component_list("a")},
        {"scale": component_list("a")},
        {"source": component_list("a")},
        {"target": component_list("a")},
        {"steps": component_list("a")},
    ],
)
def test_interaction_properties_require_an_interaction_type(version, properties):
    assert violations(interaction(None, **properties), version) == [
        ("/object/definition/interactionType", "interaction.type_required")
    ]


@pytest.mark.parametrize(
    ("kind", "key"),
    [("true-false", "choices"), ("choice", "scale"), ("likert", "steps"), ("numeric", "source")],
)
def test_component_list_not_supported_by_the_interaction_type_is_rejected(kind, key):
    statement = interaction(kind, **{key: component_list("a")})
    assert violations(statement) == [(f"/object/definition/{key}", "interaction.component_list")]


def test_interaction_component_ids_must_be_unique_within_a_list():
    statement = interaction("choice", choices=component_list("golf", "tetris", "golf"))
    assert violations(statement) == [
        ("/object/definition/choices/2/id", "interaction.component_id_unique")
    ]


def test_the_same_component_id_may_appear_in_different_lists(version):
    statement = interaction("matching", source=component_list("a"), target=component_list("a"))
    assert violations(statement, version) == []


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ({"description": {"en-US": "x"}}, ("/object/definition/choices/0/id", "property.required")),
        ({"id": 1}, ("/object/definition/choices/0/id", "type.string")),
        ({"id": "a", "name": "x"}, ("/object/definition/choices/0/name", "property.unknown")),
        (
            {"id": "a", "description": "x"},
            ("/object/definition/choices/0/description", "type.object"),
        ),
        ("a", ("/object/definition/choices/0", "type.object")),
    ],
)
def test_interaction_components_are_objects_with_an_id_and_a_description(component, expected):
    assert violations(interaction("choice", choices=[component])) == [expected]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("true", ("/object/definition/correctResponsesPattern", "type.array")),
        ([True], ("/object/definition/correctResponsesPattern/0", "type.string")),
        ([None], ("/object/definition/correctResponsesPattern/0", "property.null")),
    ],
)
def test_correct_responses_pattern_is_an_array_of_strings(pattern, expected):
    assert violations(interaction("true-false", correctResponsesPattern=pattern)) == [expected]


# Result (1.0.3 Data 2.4.5, 2.0 4.2.2.4) -------------------------------------------------------


@pytest.mark.parametrize("scaled", [-1.01, 1.5, 100])
def test_score_scaled_outside_minus_one_to_one_is_rejected(scaled):
    pointer = "/result/score/scaled"
    assert violations(mutated(pointer, scaled)) == [(pointer, "score.scaled_range")]


@pytest.mark.parametrize("scaled", [-1, 0, 1, 0.5])
def test_score_scaled_within_range_is_accepted(scaled):
    assert violations(mutated("/result/score/scaled", scaled)) == []


@pytest.mark.parametrize("low", [100, 101])
def test_score_min_must_be_less_than_max(low):
    statement = mutated("/result/score", {"min": low, "max": 100})
    assert violations(statement) == [("/result/score/max", "score.min_max")]


@pytest.mark.parametrize(
    "score", [{"raw": -1, "min": 0}, {"raw": 101, "max": 100}, {"raw": 5, "min": 6, "max": 10}]
)
def test_score_raw_outside_min_and_max_is_rejected(score):
    assert violations(mutated("/result/score", score)) == [("/result/score/raw", "score.raw_range")]


@pytest.mark.parametrize(
    "score", [{"raw": 0, "min": 0, "max": 1}, {"raw": 1, "min": 0, "max": 1}, {"raw": -500}, {}]
)
def test_score_raw_within_min_and_max_is_accepted(score):
    assert violations(mutated("/result/score", score)) == []


@pytest.mark.parametrize("duration", ["PA1H0M0S", "should fail", "P", "PT", "P4W1D", "1:00:00"])
def test_result_duration_must_be_iso8601(duration):
    assert violations(mutated("/result/duration", duration)) == [
        ("/result/duration", "format.duration")
    ]


@pytest.mark.parametrize(
    "duration", ["PT4H35M59.14S", "PT16559.14S", "P3Y1M29DT4H35M59.14S", "P4W"]
)
def test_result_duration_accepts_iso8601(version, duration):
    assert violations(mutated("/result/duration", duration), version) == []


# Context (1.0.3 Data 2.4.6, 2.0 4.2.2.5) -------------------------------------------------------


@pytest.mark.parametrize("key", ["revision", "platform"])
@pytest.mark.parametrize(
    "target",
    [
        {"objectType": "Agent", "mbox": "mailto:bob@example.com"},
        {"objectType": "StatementRef", "id": UUID_A},
    ],
)
def test_revision_and_platform_require_an_activity_object(version, key, target):
    other = "platform" if key == "revision" else "revision"
    statement = make_statement(object=target)
    del statement["context"][other]
    assert violations(statement, version) == [
        (f"/context/{key}", f"context.{key}_requires_activity")
    ]


def test_substatement_context_revision_looks_at_the_substatement_object(version):
    statement = with_substatement(object={"objectType": "Agent", "mbox": "mailto:b@example.com"})
    assert violations(statement, version) == [
        ("/object/context/platform", "context.platform_requires_activity")
    ]


def test_context_instructor_may_be_a_group(version):
    group = {"objectType": "Group", "mbox": "mailto:instructors@example.com"}
    assert violations(mutated("/context/instructor", group), version) == []


def test_context_instructor_must_be_a_valid_agent():
    assert violations(mutated("/context/instructor", {"name": "x"})) == [
        ("/context/instructor", "agent.exactly_one_ifi")
    ]


def test_context_team_must_be_a_group(version):
    assert violations(mutated("/context/team", {"mbox": "mailto:a@example.com"}), version) == [
        ("/context/team", "context.team_not_group")
    ]


def test_context_activities_key_outside_the_four_is_rejected():
    pointer = "/context/contextActivities/Parent"
    assert violations(mutated(pointer, [])) == [(pointer, "property.unknown")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://example.com/a", ("/context/contextActivities/parent", "context_activities.value")),
        (
            {"objectType": "Agent", "mbox": "mailto:a@example.com"},
            ("/context/contextActivities/parent/objectType", "activity.object_type"),
        ),
        ([{"id": "not an iri"}], ("/context/contextActivities/parent/0/id", "format.iri")),
        ([{"definition": {}}], ("/context/contextActivities/parent/0/id", "property.required")),
        ([None], ("/context/contextActivities/parent/0", "property.null")),
    ],
)
def test_context_activities_values_are_activities(value, expected):
    assert violations(mutated("/context/contextActivities/parent", value)) == [expected]


def test_context_activities_must_be_an_object():
    pointer = "/context/contextActivities"
    assert violations(mutated(pointer, [])) == [(pointer, "type.object")]


@pytest.mark.parametrize("language", ["something", "a12345678", "en_US", 3])
def test_context_language_must_be_a_language_tag(language):
    expected = "type.string" if language == 3 else "format.language_tag"
    assert violations(mutated("/context/language", language)) == [("/context/language", expected)]


CONTEXT_AGENTS = [
    {
        "objectType": "contextAgent",
        "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
        "relevantTypes": ["https://example.com/xapi/activity-types/player"],
    },
    {"objectType": "contextAgent", "agent": {"mbox": "mailto:coach@example.com"}},
]
CONTEXT_GROUPS = [
    {
        "objectType": "contextGroup",
        "group": {
            "objectType": "Group",
            "mbox": "mailto:team-1@example.com",
            "member": [{"objectType": "Agent", "mbox": "mailto:player-1@example.com"}],
        },
        "relevantTypes": ["https://example.com/xapi/activity-types/team/a"],
    },
    {
        "objectType": "contextGroup",
        "group": {"objectType": "Group", "member": [{"mbox": "mailto:a@x.com"}]},
    },
]


def test_context_agents_and_groups_are_accepted_in_2_0():
    statement = mutated("/context/contextAgents", CONTEXT_AGENTS)
    set_at(statement, "/context/contextGroups", CONTEXT_GROUPS)
    assert violations(statement, "2.0.0") == []


@pytest.mark.parametrize(
    ("key", "value"), [("contextAgents", CONTEXT_AGENTS), ("contextGroups", CONTEXT_GROUPS)]
)
def test_context_agents_and_groups_are_rejected_in_1_0_3(key, value):
    assert violations(mutated(f"/context/{key}", value), "1.0.3") == [
        (f"/context/{key}", "property.unknown")
    ]


@pytest.mark.parametrize(
    ("pointer", "value", "rule"),
    [
        ("/context/contextAgents/0/objectType", "Should fail", "context_agent.object_type"),
        ("/context/contextAgents/0/objectType", DELETE, "property.required"),
        ("/context/contextAgents/0/agent", {"key": "Should fail"}, "property.unknown"),
        ("/context/contextAgents/0/agent", DELETE, "property.required"),
        ("/context/contextAgents/0/agent", CONTEXT_GROUPS[0]["group"], "context_agent.not_agent"),
        ("/context/contextAgents/0/relevantTypes", [], "context.relevant_types_empty"),
        ("/context/contextAgents/0/relevantTypes/0", "abc", "format.iri"),
        ("/context/contextAgents/0/role", "x", "property.unknown"),
        ("/context/contextAgents/0", "agent", "type.object"),
        ("/context/contextGroups/0/objectType", "contextAgent", "context_group.object_type"),
        ("/context/contextGroups/0/group", {"key": "Should fail"}, "property.unknown"),
        ("/context/contextGroups/0/group", CONTEXT_AGENTS[0]["agent"], "context_group.not_group"),
        ("/context/contextGroups/0/relevantTypes", [], "context.relevant_types_empty"),
        ("/context/contextGroups/0/relevantTypes", "http://ex.com/t", "type.array"),
    ],
)
def test_context_agents_and_groups_follow_their_tables(pointer, value, rule):
    statement = mutated("/context/contextAgents", CONTEXT_AGENTS)
    set_at(statement, "/context/contextGroups", CONTEXT_GROUPS)
    set_at(statement, pointer, value)
    assert rule in {rule_ for _, rule_ in violations(statement, "2.0.0")}


def test_context_agents_must_be_an_array():
    statement = mutated("/context/contextAgents", CONTEXT_AGENTS[0])
    assert violations(statement, "2.0.0") == [("/context/contextAgents", "type.array")]


# Timestamp and stored (1.0.3 Data 2.4.7, 2.4.8, 4.5; 2.0 4.2.7) -------------------------------


@pytest.mark.parametrize("pointer", ["/timestamp", "/stored", "/object/timestamp"])
@pytest.mark.parametrize(
    "value",
    [
        "should fail",
        "01/011/2015",
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
        "2015-02-30T00:00:00Z",
    ],
)
def test_invalid_timestamp_is_rejected(version, pointer, value):
    statement = with_substatement()
    set_at(statement, pointer, value)
    assert violations(statement, version) == [(pointer, "format.timestamp")]


@pytest.mark.parametrize(
    "value",
    [
        "2008-09-15T15:53:00.601+00:00",
        "2023-05-04T12:00:00-05:00",
        "2015-11-18T12:17:00.123456789Z",
        "2099-01-01T00:00:00Z",
    ],
)
def test_valid_timestamps_including_non_utc_and_future_are_accepted(version, value):
    assert violations(make_statement(timestamp=value, stored=value), version) == []


# Version (1.0.3 Data 2.4.10, 2.0 4.1.7 and 4.2.4.3) ------------------------------------------


@pytest.mark.parametrize(
    ("version", "value", "accepted"),
    [
        ("1.0.3", "1.0", True),
        ("1.0.3", "1.0.0", True),
        ("1.0.3", "1.0.9", True),
        ("1.0.3", "2.0.0", False),
        ("1.0.3", "1.1.0", False),
        ("1.0.3", "0.9.9", False),
        ("1.0.3", "should fail", False),
        ("2.0.0", "2.0.0", True),
        ("2.0.0", "1.0", True),
        ("2.0.0", "1.0.9", True),
        ("2.0.0", "1.1.0", False),
        ("2.0.0", "0.9.9", False),
        ("2.0.0", "2.1.0", False),
    ],
)
def test_statement_version_property(version, value, accepted):
    expected = [] if accepted else [("/version", "statement.version")]
    assert violations(make_statement(version=value), version) == expected


def test_statement_version_must_be_a_string():
    assert violations(make_statement(version=1.0)) == [("/version", "type.string")]


# Authority (1.0.3 Data 2.4.9, 2.0 4.2.4.2) -----------------------------------------------------


OAUTH_CONSUMER = {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_x"}}


def test_authority_may_be_an_anonymous_group_of_two_agents(version):
    group = {"objectType": "Group", "member": [OAUTH_CONSUMER, {"mbox": "mailto:bob@example.com"}]}
    assert violations(make_statement(authority=group), version) == []


@pytest.mark.parametrize("count", [1, 3])
def test_authority_group_must_have_exactly_two_members(version, count):
    members = [{"mbox": f"mailto:u{i}@example.com"} for i in range(count)]
    group = {"objectType": "Group", "member": members}
    assert violations(make_statement(authority=group), version) == [
        ("/authority/member", "authority.group_members")
    ]


def test_authority_group_must_be_anonymous(version):
    group = {
        "objectType": "Group",
        "mbox": "mailto:xapigroup@example.com",
        "member": [{"mbox": "mailto:agentA@example.com"}, {"mbox": "mailto:agentB@example.com"}],
    }
    assert violations(make_statement(authority=group), version) == [
        ("/authority", "authority.group_identified")
    ]


def test_authority_must_be_an_agent_or_group(version):
    assert violations(make_statement(authority={"objectType": "Agent"}), version) == [
        ("/authority", "agent.exactly_one_ifi")
    ]
    assert violations(make_statement(authority="lrs"), version) == [("/authority", "type.object")]


# Attachments (1.0.3 Data 2.4.11, 2.6; 2.0 4.2.2.6, 4.2.6) -------------------------------------


@pytest.mark.parametrize("key", ["usageType", "display", "contentType", "length", "sha2"])
def test_attachment_without_required_property_is_rejected(version, key):
    pointer = f"/attachments/0/{key}"
    assert violations(mutated(pointer, DELETE), version) == [(pointer, "property.required")]


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("usageType", "should fail", "format.iri"),
        ("contentType", 999, "type.string"),
        ("contentType", "plain text", "format.mime_type"),
        ("length", "27", "type.integer"),
        ("length", 2.5, "type.integer"),
        ("length", -1, "attachment.length"),
        ("sha2", 12345, "type.string"),
        ("sha2", "should fail", "format.sha2"),
        ("fileUrl", "should fail", "format.irl"),
        ("display", "A test attachment", "type.object"),
        ("description", 3, "type.object"),
    ],
)
def test_attachment_property_with_wrong_value_is_rejected(key, value, rule):
    pointer = f"/attachments/0/{key}"
    assert violations(mutated(pointer, value)) == [(pointer, rule)]


def test_attachment_file_url_is_optional_and_length_may_be_integral_float(version):
    statement = mutated("/attachments/0/fileUrl", DELETE)
    set_at(statement, "/attachments/0/length", 27.0)
    assert violations(statement, version) == []


def test_signature_attachment_must_be_octet_stream(version):
    statement = mutated("/attachments/0/usageType", SIG_USAGE)
    assert violations(statement, version) == [
        ("/attachments/0/contentType", "signature.content_type")
    ]
    set_at(statement, "/attachments/0/contentType", "application/octet-stream")
    assert violations(statement, version) == []


def test_substatement_attachments_are_validated():
    statement = with_substatement(attachments=[{"usageType": "x"}])
    assert ("/object/attachments/0/usageType", "format.iri") in violations(statement)


# Voiding (1.0.3 Data 2.3.2, 2.0 4.2.5) ---------------------------------------------------------


def test_voiding_statement_with_statement_ref_object_is_accepted(version):
    statement = make_statement(
        verb={"id": VOIDED, "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": UUID_A},
    )
    del statement["context"]
    assert violations(statement, version) == []


@pytest.mark.parametrize(
    "target",
    [
        {"id": "http://example.com/activities/quiz"},
        {"objectType": "Agent", "mbox": "mailto:a@example.com"},
        SUBSTATEMENT,
    ],
)
def test_voiding_statement_without_statement_ref_object_is_rejected(version, target):
    statement = make_statement(verb={"id": VOIDED}, object=target)
    del statement["context"]
    assert violations(statement, version) == [("/object", "voiding.object_not_statement_ref")]
