"""Parameters of the document, Agents and Activities resources: required, known, once,
and well-formed (1.0.3 Communication 2.3-2.7, 2.0 4.1.6.2-4.1.6.6 and 4.1.5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from statements.document_params import (
    MAX_ID_LENGTH,
    parse_activity_id,
    parse_agent,
    parse_agent_object,
    parse_document_params,
    require,
    single_values,
)
from statements.documents import DocumentScope
from statements.errors import InvalidQuery

ACTIVITY = "http://example.com/activities/1"
AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:Ada@Example.com"})
REGISTRATION = "6FA459EA-EE8A-3CA4-894E-DB77E160355E"


def state(**extra: str) -> list[tuple[str, str]]:
    return [("activityId", ACTIVITY), ("agent", AGENT), *extra.items()]


def test_state_params_give_scope_and_id_with_normalised_agent_and_registration():
    params = parse_document_params(
        "state", "PUT", state(stateId="s", registration=REGISTRATION), "2.0.0"
    )
    assert params.scope == DocumentScope(
        "state", ACTIVITY, "mbox::mailto:Ada@example.com", REGISTRATION.lower()
    )
    assert params.document_id == "s"


def test_get_without_id_may_filter_by_since():
    params = parse_document_params("state", "GET", state(since="2024-01-01T00:00:00Z"), "2.0.0")
    assert params.document_id is None
    assert params.since == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_writes_require_the_document_id(method):
    with pytest.raises(InvalidQuery, match="stateId"):
        parse_document_params("state", method, state(), "2.0.0")


def test_state_delete_may_omit_the_id_but_a_profile_delete_may_not():
    assert parse_document_params("state", "DELETE", state(), "2.0.0").document_id is None
    with pytest.raises(InvalidQuery, match="profileId"):
        parse_document_params("activity_profile", "DELETE", [("activityId", ACTIVITY)], "2.0.0")


@pytest.mark.parametrize("missing", ["activityId", "agent"])
def test_missing_context_parameter_is_refused(missing):
    items = [(n, v) for n, v in state(stateId="s") if n != missing]
    with pytest.raises(InvalidQuery, match="required parameter"):
        parse_document_params("state", "GET", items, "2.0.0")


@pytest.mark.parametrize(
    ("method", "items"),
    [
        ("GET", [("activityId", ACTIVITY), ("profileId", "p"), ("agent", AGENT)]),
        ("GET", [("ActivityId", ACTIVITY), ("profileId", "p")]),
        ("GET", [("activityId", ACTIVITY), ("profileId", "p"), ("registration", REGISTRATION)]),
        ("PUT", [("activityId", ACTIVITY), ("profileId", "p"), ("since", "2024-01-01T00:00:00Z")]),
    ],
)
def test_unknown_or_misplaced_parameters_are_refused(method, items):
    with pytest.raises(InvalidQuery, match="unknown parameter"):
        parse_document_params("activity_profile", method, items, "2.0.0")


def test_since_is_not_allowed_with_a_document_id():
    with pytest.raises(InvalidQuery, match="since is not allowed"):
        parse_document_params(
            "state", "GET", state(stateId="s", since="2024-01-01T00:00:00Z"), "2.0.0"
        )


def test_repeated_parameter_is_refused():
    with pytest.raises(InvalidQuery, match="more than once"):
        parse_document_params("state", "GET", [*state(), ("agent", AGENT)], "2.0.0")


def test_overlong_document_id_is_refused():
    parse_document_params("state", "PUT", state(stateId="x" * MAX_ID_LENGTH), "2.0.0")
    with pytest.raises(InvalidQuery, match="longer than"):
        parse_document_params("state", "PUT", state(stateId="x" * (MAX_ID_LENGTH + 1)), "2.0.0")


@pytest.mark.parametrize(
    ("name", "value"),
    [("registration", "true"), ("since", "not a timestamp"), ("activityId", "no-scheme")],
)
def test_malformed_values_are_refused(name, value):
    items = [(n, v) for n, v in state() if n != name] + [(name, value)]
    with pytest.raises(InvalidQuery, match=name):
        parse_document_params("state", "GET", items, "2.0.0")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not JSON", "not valid JSON"),
        ("true", "not a valid Agent"),
        (json.dumps({"objectType": "Agent", "name": "no ifi"}), "not a valid Agent"),
        (json.dumps({"objectType": "Group", "member": []}), "not a valid Agent"),
        ("x" * 9000, "longer than"),
    ],
)
def test_agent_must_be_a_json_agent_with_one_identifier(raw, message):
    with pytest.raises(InvalidQuery, match=message):
        parse_agent(raw, "2.0.0")


def test_an_identified_group_is_accepted_as_the_agent():
    group = {"objectType": "Group", "account": {"homePage": "http://e.com", "name": "team"}}
    assert parse_agent_object(json.dumps(group), "1.0.3") == group
    assert parse_agent(json.dumps(group), "1.0.3") == "account::http://e.com::team"


def test_activity_id_must_be_a_bounded_iri():
    assert parse_activity_id(ACTIVITY) == ACTIVITY
    with pytest.raises(InvalidQuery, match="longer than"):
        parse_activity_id("http://e.com/" + "a" * 9000)


def test_single_values_and_require_helpers():
    values = single_values([("agent", AGENT)], frozenset({"agent"}))
    assert require(values, "agent") == AGENT
    with pytest.raises(InvalidQuery, match="required"):
        require({}, "activityId")
