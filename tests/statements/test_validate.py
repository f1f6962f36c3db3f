"""Statement validation, rule by rule (xAPI 1.0.3 Data 2.2-2.6 and 4.0; 2.0 4.2)."""

import copy
from typing import Any

import pytest

from statements.errors import InvalidStatement
from statements.validate import StatementValidator, validate_activity_id, validate_agent

VERSIONS = ["1.0.3", "2.0.0"]
SHA256 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
UUID_A = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"

BASE: dict[str, Any] = {
    "id": UUID_A,
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {
        "objectType": "Activity",
        "id": "http://example.com/activities/quiz",
        "definition": {
            "name": {"en-US": "Quiz", "de": "Quiz"},
            "description": {"en-US": "A quiz"},
            "type": "http://adlnet.gov/expapi/activities/assessment",
            "moreInfo": "http://example.com/quiz/info",
            "extensions": {"http://example.com/ext/level": 3},
        },
    },
    "result": {
        "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
        "success": True,
        "completion": True,
        "response": "ok",
        "duration": "PT1H0M0S",
        "extensions": {"http://example.com/ext/attempts": 2},
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "instructor": {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
        "team": {"objectType": "Group", "member": [{"openid": "http://openid.example.org/1"}]},
        "contextActivities": {
            "parent": [{"id": "http://example.com/activities/course"}],
            "grouping": {"objectType": "Activity", "id": "http://example.com/programme"},
            "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/moveon"}],
            "other": [],
        },
        "revision": "r1",
        "platform": "web",
        "language": "en-US",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "extensions": {"http://example.com/ext/airspeed": "600mph"},
    },
    "timestamp": "2015-11-18T12:17:00+00:00",
    "stored": "2015-11-18T12:17:01.123Z",
    "authority": {
        "objectType": "Agent",
        "account": {"homePage": "http://example.com/lrs", "name": "client-1"},
    },
    "attachments": [
        {
            "usageType": "http://example.com/attachment-usage/test",
            "display": {"en-US": "A test attachment"},
            "description": {"en-US": "A test attachment (description)"},
            "contentType": "text/plain; charset=ascii",
            "length": 27,
            "sha2": SHA256,
            "fileUrl": "http://over.there.com/file.txt",
        }
    ],
}

SUBSTATEMENT: dict[str, Any] = {
    "objectType": "SubStatement",
    "actor": {"objectType": "Agent", "mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/reported", "display": {"en-GB": "reported"}},
    "object": {"id": "http://example.com/activities/meeting"},
    "result": {"success": False},
    "context": {"platform": "web", "extensions": {"http://example.com/ext/x": None}},
    "timestamp": "2030-01-01T00:00:00Z",
}


def make_statement(**overrides: Any) -> dict[str, Any]:
    """A deep copy of a valid statement using most properties, with top-level overrides."""
    statement = copy.deepcopy(BASE)
    statement.update(copy.deepcopy(overrides))
    return statement


def with_substatement(**fields: Any) -> dict[str, Any]:
    """A valid statement whose object is a SubStatement (with `fields` replaced)."""
    statement = make_statement(object={**SUBSTATEMENT, **fields})
    del statement["context"]["revision"], statement["context"]["platform"]
    return statement


def set_at(statement: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """Set (or, with `DELETE`, remove) the value at a JSON pointer; returns the statement."""
    *parents, last = pointer[1:].split("/")
    value = copy.deepcopy(value) if value is not DELETE else value
    target: Any = statement
    for step in parents:
        target = target[int(step)] if isinstance(target, list) else target[step]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is DELETE:
        del target[last]
    else:
        target[last] = value
    return statement


DELETE = object()


def violations(statement: object, version: str = "2.0.0") -> list[tuple[str, str]]:
    try:
        StatementValidator(version).validate(statement)  # type: ignore[arg-type]
    except InvalidStatement as error:
        return [(v.path, v.rule) for v in error.violations]
    return []


def rules(statement: object, version: str = "2.0.0") -> set[str]:
    return {rule for _, rule in violations(statement, version)}


def mutated(pointer: str, value: Any, **overrides: Any) -> dict[str, Any]:
    return set_at(make_statement(**overrides), pointer, value)


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Valid statements pass ---------------------------------------------------------------------


def test_full_statement_is_valid(version):
    assert violations(make_statement(), version) == []


def test_minimal_statement_is_valid(version):
    statement = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": "http://example.com/a"},
    }
    assert violations(statement, version) == []


def test_statement_with_substatement_is_valid(version):
    assert violations(with_substatement(), version) == []


def test_extension_keys_with_dots_and_dollar_values_pass(version):
    extensions = {
        "http://ex.com/a.b": {"$where": "sleep(1000)", "$gt": "", "a.b": {"$ne": None}},
        "http://ex.com/$x": "$where",
        "http://ex.com/null": None,
        "http://ex.com/empty": {},
    }
    statement = mutated("/context/extensions", extensions)
    set_at(statement, "/result/extensions", extensions)
    set_at(statement, "/object/definition/extensions", extensions)
    assert violations(statement, version) == []


def test_empty_objects_are_accepted(version):
    statement = mutated("/object/definition", {}, attachments=[])
    set_at(statement, "/context/extensions", {})
    set_at(statement, "/context/contextActivities", {})
    assert violations(statement, version) == []


def test_every_violation_is_reported_at_once():
    statement = mutated("/actor/mbox", "ann@example.com", verb={"id": "completed"})
    set_at(statement, "/result/success", "yes")
    assert violations(statement) == [
        ("/actor/mbox", "format.mailto"),
        ("/verb/id", "format.iri"),
        ("/result/success", "type.boolean"),
    ]


def test_error_message_names_the_field_and_the_rule():
    with pytest.raises(InvalidStatement) as caught:
        StatementValidator("2.0.0").validate(mutated("/result/duration", "1 hour"))
    assert "/result/duration" in caught.value.message
    assert "[format.duration]" in caught.value.message
    assert caught.value.details == [
        {
            "path": "/result/duration",
            "rule": "format.duration",
            "message": "must be an ISO 8601 duration (PnYnMnDTnHnMnS), got '1 hour'",
        }
    ]


def test_validator_refuses_unknown_versions():
    with pytest.raises(ValueError, match="unsupported"):
        StatementValidator("1.0.2")  # type: ignore[arg-type]


# Formatting requirements (1.0.3 Data 2.2, 2.0 4.2.1) ---------------------------------------


@pytest.mark.parametrize("statement", [None, [], "statement", 3, True])
def test_statement_that_is_not_an_object_is_rejected(statement):
    assert violations(statement) == [("", "statement.type")]


@pytest.mark.parametrize("key", ["actor", "verb", "object"])
def test_statement_without_required_property_is_rejected(version, key):
    assert violations(mutated(f"/{key}", DELETE), version) == [(f"/{key}", "property.required")]


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("iD", "id"),
        ("Actor", "actor"),
        ("veRb", "verb"),
        ("oBject", "object"),
        ("RESULT", "result"),
        ("conText", "context"),
        ("timeStamp", "timestamp"),
        ("STOred", "stored"),
        ("auTHORity", "authority"),
        ("Version", "version"),
        ("attachmentS", "attachments"),
    ],
)
def test_key_with_wrong_case_is_rejected(wrong, right):
    statement = make_statement()
    statement[wrong] = statement.pop(right, "1.0.0")
    assert (f"/{wrong}", "property.unknown") in violations(statement)


@pytest.mark.parametrize(
    "pointer",
    [
        "/objectType",
        "/actor/member",
        "/authority/account/id",
        "/verb/name",
        "/object/name",
        "/object/definition/title",
        "/result/grade",
        "/result/score/percent",
        "/context/activity",
        "/context/contextActivities/parents",
        "/context/statement/verb",
        "/attachments/0/url",
    ],
)
def test_property_not_allowed_by_the_spec_is_rejected(pointer):
    statement = mutated(pointer, "x")
    assert violations(statement) == [(pointer, "property.unknown")]


@pytest.mark.parametrize(
    "pointer",
    [
        "/id",
        "/actor/name",
        "/verb/display/en-US",
        "/object/definition/moreInfo",
        "/result/score/raw",
        "/context/registration",
        "/context/contextActivities/parent",
        "/timestamp",
        "/attachments/0/fileUrl",
    ],
)
def test_null_value_is_rejected(pointer):
    assert violations(mutated(pointer, None)) == [(pointer, "property.null")]


@pytest.mark.parametrize(
    ("pointer", "value", "rule"),
    [
        ("/result/score/max", "one hundred", "type.number"),
        ("/result/score/max", "100", "type.number"),
        ("/result/success", "We regret to inform you", "type.boolean"),
        ("/result/completion", "false", "type.boolean"),
        ("/result/completion", 1, "type.boolean"),
        ("/result/response", 42, "type.string"),
        ("/result/score", 95, "type.object"),
        ("/actor/name", {"en": "Ann"}, "type.string"),
        ("/verb", "completed", "type.object"),
        ("/object/definition", "quiz", "type.object"),
        ("/attachments", {}, "type.array"),
        ("/attachments/0", "attachment", "type.object"),
        ("/context/team/member", {"mbox": "mailto:a@example.com"}, "type.array"),
        ("/id", 12345, "type.string"),
        ("/id", {"key": "should fail"}, "type.string"),
    ],
)
def test_wrong_data_type_is_rejected(pointer, value, rule):
    assert violations(mutated(pointer, value)) == [(pointer, rule)]


@pytest.mark.parametrize("value", [True, float("nan"), float("inf")])
def test_score_is_a_finite_number(value):
    assert violations(mutated("/result/score/scaled", value)) == [
        ("/result/score/scaled", "type.number")
    ]


# id and UUIDs (1.0.3 Data 2.4.1, 4.4) -------------------------------------------------------


@pytest.mark.parametrize("pointer", ["/id", "/context/registration", "/context/statement/id"])
@pytest.mark.parametrize(
    "value",
    [
        "AA97B177-9383-4934-8543-0F91A7A028368",
        "MA97B177-9383-4934-8543-0F91A7A02836",
        "fd41c918b88b4b20a0a5a4c32391aaa0",
        "",
    ],
)
def test_invalid_uuid_is_rejected(pointer, value):
    assert violations(mutated(pointer, value)) == [(pointer, "format.uuid")]


def test_uppercase_uuid_is_accepted():
    assert violations(make_statement(id="AA97B177-9383-4934-8543-0F91A7A02836")) == []


# Actor: Agents and Groups (1.0.3 Data 2.4.2, 2.0 4.2.2.1) -----------------------------------


@pytest.mark.parametrize("value", ["agent", "Person", "Activity", "StatementRef"])
def test_actor_object_type_other_than_agent_or_group_is_rejected(version, value):
    assert violations(mutated("/actor/objectType", value), version) == [
        ("/actor/objectType", "actor.object_type")
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
        {"openid": "http://openid.example.org/12345"},
        {"account": {"homePage": "http://www.example.com", "name": "ann"}},
    ],
)
def test_agent_with_two_ifis_is_rejected(version, extra):
    actor = {"objectType": "Agent", "mbox": "mailto:ann@example.com", **extra}
    assert violations(make_statement(actor=actor), version) == [("/actor", "agent.exactly_one_ifi")]


def test_agent_without_ifi_is_rejected(version):
    assert violations(make_statement(actor={"name": "Ann"}), version) == [
        ("/actor", "agent.exactly_one_ifi")
    ]


@pytest.mark.parametrize(
    "value", ["mailto:should.fail.com", "http://should.fail.com", "ann@example.com", ""]
)
def test_mbox_must_be_a_mailto_iri_with_an_address(value):
    assert violations(mutated("/actor/mbox", value)) == [("/actor/mbox", "format.mailto")]


@pytest.mark.parametrize("value", ["not a hash", "cd9b00a5611f94eaa7b1661edab976068e36497"])
def test_mbox_sha1sum_must_be_40_hex_digits(value):
    pointer = "/context/instructor/mbox_sha1sum"
    assert violations(mutated(pointer, value)) == [(pointer, "format.sha1")]


@pytest.mark.parametrize("value", ["ab=c://should.fail.com", "openid", "http://x.org/ü"])
def test_openid_must_be_a_uri(value):
    pointer = "/context/team/member/0/openid"
    assert violations(mutated(pointer, value)) == [(pointer, "format.uri")]


def test_account_requires_home_page_and_name(version):
    statement = mutated("/authority/account", {})
    assert violations(statement, version) == [
        ("/authority/account/homePage", "property.required"),
        ("/authority/account/name", "property.required"),
    ]


@pytest.mark.parametrize("value", ["ab=c://should.fail.com", "www.example.com", "urn:x:y"])
def test_account_home_page_must_be_an_irl(value):
    pointer = "/authority/account/homePage"
    assert violations(mutated(pointer, value)) == [(pointer, "format.irl")]


def test_account_name_must_be_a_string():
    pointer = "/authority/account/name"
    assert violations(mutated(pointer, {"key": "value"})) == [(pointer, "type.string")]


@pytest.mark.parametrize("member", [None, []])
def test_anonymous_group_needs_members(version, member):
    group: dict[str, Any] = {"objectType": "Group", "name": "team"}
    if member is not None:
        group["member"] = member
    assert violations(make_statement(actor=group), version) == [
        ("/actor", "group.anonymous_requires_member")
    ]


def test_identified_group_may_omit_members(version):
    group = {"objectType": "Group", "account": {"homePage": "http://ex.com", "name": "g"}}
    assert violations(make_statement(actor=group), version) == []


def test_identified_group_with_two_ifis_is_rejected(version):
    group = {"objectType": "Group", "mbox": "mailto:g@example.com", "openid": "http://ex.com/g"}
    assert violations(make_statement(actor=group), version) == [("/actor", "group.exactly_one_ifi")]


def test_group_member_that_is_a_group_is_rejected(version):
    inner = {"objectType": "Group", "mbox": "mailto:inner@example.com"}
    group = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, inner]}
    assert violations(make_statement(actor=group), version) == [
        ("/actor/member/1", "group.member_not_agent")
    ]


def test_group_members_follow_agent_rules(version):
    group = {"objectType": "Group", "member": [{"name": "no ifi"}, "x"]}
    assert violations(make_statement(actor=group), version) == [
        ("/actor/member/0", "agent.exactly_one_ifi"),
        ("/actor/member/1", "type.object"),
    ]


def test_member_is_only_allowed_on_groups(version):
    agent = {"mbox": "mailto:a@example.com", "member": []}
    assert violations(make_statement(actor=agent), version) == [
        ("/actor/member", "property.unknown")
    ]


# Verb (1.0.3 Data 2.4.3, 2.0 4.2.2.2) ---------------------------------------------------------


def test_verb_without_id_is_rejected(version):
    assert violations(mutated("/verb/id", DELETE), version) == [("/verb/id", "property.required")]


@pytest.mark.parametrize("value", ["completed", "", "ab=c://should.fail.com", "/verbs/x"])
def test_verb_id_must_be_an_iri(value):
    assert violations(mutated("/verb/id", value)) == [("/verb/id", "format.iri")]


def test_verb_display_is_optional(version):
    assert violations(mutated("/verb/display", DELETE), version) == []


# Language maps (1.0.3 Data 4.2, XAPI-00013, XAPI-00121) ---------------------------------------


@pytest.mark.parametrize(
    "pointer",
    [
        "/verb/display",
        "/object/definition/name",
        "/object/definition/description",
        "/attachments/0/display",
        "/attachments/0/description",
    ],
)
@pytest.mark.parametrize("tag", ["a12345678", "something", "en_US", ""])
def test_language_map_key_must_be_an_rfc5646_tag(pointer, tag):
    statement = mutated(f"{pointer}/{tag}", "text")
    assert violations(statement) == [(f"{pointer}/{tag}", "format.language_tag")]


@pytest.mark.parametrize("tag", ["de", "de-DE", "zh-Hant", "sr-Latn-RS", "es-419", "cmn"])
def test_language_map_accepts_valid_tags(version, tag):
    assert violations(mutated(f"/verb/display/{tag}", "x"), version) == []


@pytest.mark.parametrize("value", ["completed", 3, ["en"]])
def test_language_map_must_be_an_object(value):
    assert violations(mutated("/verb/display", value)) == [("/verb/display", "type.object")]


def test_language_map_values_must_be_strings():
    assert violations(mutated("/verb/display/en-US", 3)) == [("/verb/display/en-US", "type.string")]


# Object (1.0.3 Data 2.4.4, 2.0 4.2.2.3) -------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["activity", "agent", "group", "statementref", "substatement", "Statement", ""]
)
def test_object_type_with_wrong_value_or_case_is_rejected(version, value):
    assert violations(mutated("/object/objectType", value), version) == [
        ("/object/objectType", "object.object_type")
    ]


def test_object_type_must_be_a_string():
    assert violations(mutated("/object/objectType", 123)) == [("/object/objectType", "type.string")]


def test_object_without_object_type_is_an_activity(version):
    assert violations(mutated("/object/objectType", DELETE), version) == []


@pytest.mark.parametrize(
    "target",
    [
        {"mbox": "mailto:bob@example.com"},
        {"member": [{"mbox": "mailto:bob@example.com"}]},
        {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://ex.com/v"}},
    ],
)
def test_agent_group_or_substatement_object_must_state_its_object_type(version, target):
    assert violations(make_statement(object=target), version) == [
        ("/object/objectType", "object.object_type_required")
    ]


@pytest.mark.parametrize(
    "target",
    [
        {"objectType": "Agent", "mbox": "mailto:bob@example.com"},
        {"objectType": "Group", "member": [{"mbox": "mailto:bob@example.com"}]},
        {"objectType": "StatementRef", "id": UUID_A},
    ],
)
def test_agent_group_and_statement_ref_objects_are_accepted(version, target):
    statement = make_statement(object=target)
    del statement["context"]["revision"], statement["context"]["platform"]
    assert violations(statement, version) == []


def test_activity_without_id_is_rejected(version):
    assert violations(mutated("/object/id", DELETE), version) == [
        ("/object/id", "property.required")
    ]


@pytest.mark.parametrize("value", ["quiz", "ab=c://x", 42])
def test_activity_id_must_be_an_iri(value):
    expected = "type.string" if value == 42 else "format.iri"
    assert violations(mutated("/object/id", value)) == [("/object/id", expected)]


def test_activity_definition_type_must_be_an_iri():
    pointer = "/object/definition/type"
    assert violations(mutated(pointer, "assessment")) == [(pointer, "format.iri")]


def test_activity_definition_more_info_must_be_an_irl():
    pointer = "/object/definition/moreInfo"
    assert violations(mutated(pointer, "ab=c://should.fail.com")) == [(pointer, "format.irl")]


@pytest.mark.parametrize(
    "pointer",
    ["/object/definition/extensions", "/result/extensions", "/context/extensions"],
)
@pytest.mark.parametrize(
    ("key", "escaped"),
    [("level", "level"), ("ab=c://x", "ab=c:~1~1x"), ("example.com/ext", "example.com~1ext")],
)
def test_extension_keys_must_be_iris(pointer, key, escaped):
    statement = mutated(pointer, {key: 1, "http://example.com/ok": 2})
    assert violations(statement) == [(f"{pointer}/{escaped}", "extensions.key")]


@pytest.mark.parametrize("value", ["should fail", ["http://ex.com/a"], 3])
def test_extensions_must_be_an_object(value):
    pointer = "/object/definition/extensions"
    assert violations(mutated(pointer, value)) == [(pointer, "type.object")]


def test_extension_key_paths_are_escaped_json_pointers():
    statement = mutated("/context/extensions", {"http://ex.com/~a b": 1})
    assert violations(statement) == [
        ("/context/extensions/http:~1~1ex.com~1~0a b", "extensions.key")
    ]


# StatementRef and SubStatement (1.0.3 Data 2.4.4.3) -------------------------------------------


def test_statement_ref_without_id_is_rejected(version):
    statement = make_statement(object={"objectType": "StatementRef"})
    del statement["context"]["revision"], statement["context"]["platform"]
    assert violations(statement, version) == [("/object/id", "property.required")]


def test_context_statement_must_be_a_statement_ref():
    assert violations(mutated("/context/statement/objectType", "Statement")) == [
        ("/context/statement/objectType", "statement_ref.object_type")
    ]
    assert violations(mutated("/context/statement/objectType", DELETE)) == [
        ("/context/statement/objectType", "property.required")
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("id", UUID_A),
        ("stored", "2015-11-18T12:17:00Z"),
        ("version", "1.0.0"),
        ("authority", {"mbox": "mailto:a@example.com"}),
    ],
)
def test_substatement_cannot_use_statement_only_properties(version, key, value):
    statement = with_substatement(**{key: value})
    assert violations(statement, version) == [(f"/object/{key}", "substatement.forbidden_property")]


def test_substatement_cannot_contain_a_substatement(version):
    nested = with_substatement(object=dict(SUBSTATEMENT))
    assert ("/object/object/objectType", "substatement.nested") in violations(nested, version)


@pytest.mark.parametrize("key", ["actor", "verb", "object"])
def test_substatement_requires_actor_verb_and_object(key):
    statement = with_substatement()
    del statement["object"][key]
    assert violations(statement) == [(f"/object/{key}", "property.required")]


@pytest.mark.parametrize(
    ("pointer", "value", "rule"),
    [
        ("/object/actor/mbox_sha1sum", "bad", "format.sha1"),
        ("/object/verb/id", "reported", "format.iri"),
        ("/object/object/id", "meeting", "format.iri"),
        ("/object/timestamp", "yesterday", "format.timestamp"),
        ("/object/result/success", "no", "type.boolean"),
        ("/object/context/extensions", {"x": 1}, "extensions.key"),
    ],
)
def test_substatement_is_validated_as_a_statement(pointer, value, rule):
    statement = with_substatement()
    set_at(statement, pointer, value)
    assert [rule_ for _, rule_ in violations(statement)] == [rule]


# Batches and parameters -------------------------------------------------------------------------


def test_valid_batch_passes(version):
    other = make_statement(id="6690e6c9-3ef0-4ed3-8b37-7f3964730bee")
    StatementValidator(version).validate_batch([make_statement(), other])
    StatementValidator(version).validate_batch([])


def test_batch_violation_paths_start_with_the_statement_index():
    batch: list[object] = [make_statement(), mutated("/verb/id", "x"), "nope"]
    with pytest.raises(InvalidStatement) as caught:
        StatementValidator("2.0.0").validate_batch(batch)
    assert [(v.path, v.rule) for v in caught.value.violations] == [
        ("/1/verb/id", "format.iri"),
        ("/2", "statement.type"),
    ]


def test_batch_stops_after_many_violations():
    batch: list[object] = [None] * 500
    with pytest.raises(InvalidStatement) as caught:
        StatementValidator("1.0.3").validate_batch(batch)
    assert len(caught.value.violations) == 100


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:a@example.com"},
        {"objectType": "Agent", "account": {"homePage": "http://ex.com", "name": "a"}},
        {"objectType": "Group", "openid": "http://openid.example.org/g"},
    ],
)
def test_validate_agent_accepts_agents_and_identified_groups(version, agent):
    assert validate_agent(agent, version) == []


@pytest.mark.parametrize(
    ("agent", "rule"),
    [
        (
            {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]},
            "group.identified_required",
        ),
        ({"mbox": "mailto:a@example.com", "openid": "http://ex.com/a"}, "agent.exactly_one_ifi"),
        ({"mbox": "a@example.com"}, "format.mailto"),
        ({"objectType": "Activity", "id": "http://ex.com/a"}, "actor.object_type"),
        (["mailto:a@example.com"], "type.object"),
    ],
)
def test_validate_agent_rejects_other_values(agent, rule):
    assert rule in {v.rule for v in validate_agent(agent, "2.0.0")}


def test_validate_agent_prefixes_paths():
    assert [(v.path, v.rule) for v in validate_agent({"mbox": "x"}, "1.0.3", "/agent")] == [
        ("/agent/mbox", "format.mailto")
    ]


@pytest.mark.parametrize(
    ("value", "rules_"),
    [
        ("http://example.com/a", []),
        ("example.com/a", ["format.iri"]),
        (None, ["property.null"]),
        (3, ["type.string"]),
    ],
)
def test_validate_activity_id(value, rules_):
    assert [v.rule for v in validate_activity_id(value)] == rules_
