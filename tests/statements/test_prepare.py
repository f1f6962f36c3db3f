"""statements.prepare: what the LRS sets on an accepted statement."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statements.compare import statements_equivalent
from statements.prepare import prepare_statement, to_utc
from statements.types import SpecVersion

STORED = "2024-03-04T05:06:07.890Z"
NEW_ID = "0B8E0A4B-0F5A-4C39-9D35-6A3C2F4B3E11"
AUTHORITY = {
    "objectType": "Agent",
    "account": {"homePage": "https://lrs.example.com", "name": "key"},
}


def statement(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor": {"mbox": "mailto:alice@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.com/course"},
    }
    base.update(overrides)
    return base


def prepare(original: dict[str, Any], version: SpecVersion = "2.0.0") -> dict[str, Any]:
    return prepare_statement(
        original, version=version, authority=AUTHORITY, stored=STORED, new_id=lambda: NEW_ID
    )


def test_lrs_sets_id_timestamp_stored_authority_and_version():
    prepared = prepare(statement())
    assert prepared["id"] == NEW_ID.lower()
    assert prepared["timestamp"] == STORED
    assert prepared["stored"] == STORED
    assert prepared["authority"] == AUTHORITY
    assert prepared["version"] == "2.0.0"


def test_key_order_is_preserved_and_new_keys_are_appended():
    original = statement(stored="2000-01-01T00:00:00Z", result={"success": True})
    prepared = prepare(original)
    assert list(prepared) == [*original, "id", "timestamp", "authority", "version"]


def test_input_is_never_mutated():
    original = statement(
        timestamp="2024-01-01T12:00:00+02:00",
        context={"contextActivities": {"parent": {"id": "x:p"}}},
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:b@example.com"},
            "verb": {"id": "x:v"},
            "object": {"id": "x:a"},
            "timestamp": "2024-01-01T12:00:00+02:00",
            "context": {"contextActivities": {"other": {"id": "x:o"}}},
        },
    )
    snapshot = copy.deepcopy(original)
    prepared = prepare(original)
    assert original == snapshot
    assert prepared is not original


def test_client_id_is_kept_as_sent():
    prepared = prepare(statement(id="FD41C918-B88B-4B20-A0A5-A4C32391AAA0"))
    assert prepared["id"] == "FD41C918-B88B-4B20-A0A5-A4C32391AAA0"


def test_new_id_factory_is_called_only_when_needed():
    calls: list[int] = []

    def new_id() -> str:
        calls.append(1)
        return NEW_ID

    prepare_statement(
        statement(id="fd41c918-b88b-4b20-a0a5-a4c32391aaa0"),
        version="2.0.0",
        authority=AUTHORITY,
        stored=STORED,
        new_id=new_id,
    )
    assert calls == []


def test_client_timestamp_is_kept():
    assert prepare(statement(timestamp="2024-01-01T00:00:00.123456Z"))["timestamp"] == (
        "2024-01-01T00:00:00.123456Z"
    )


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_client_authority_and_stored_are_always_replaced(version):
    original = statement(
        authority={"mbox": "mailto:forged@example.com"}, stored="1999-01-01T00:00:00Z"
    )
    prepared = prepare(original, version)
    assert prepared["authority"] == AUTHORITY
    assert prepared["authority"] is not AUTHORITY
    assert prepared["stored"] == STORED


@pytest.mark.parametrize(
    ("version", "default"),
    [("1.0.3", "1.0.0"), ("2.0.0", "2.0.0")],
)
def test_missing_version_is_set_per_spec_family(version, default):
    assert prepare(statement(), version)["version"] == default


@pytest.mark.parametrize(("version", "sent"), [("1.0.3", "1.0.2"), ("2.0.0", "2.0.0")])
def test_client_version_is_retained(version, sent):
    assert prepare(statement(version=sent), version)["version"] == sent


# -- 2.0: timestamps converted to UTC ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00Z"),
        ("2023-05-04T12:00:00.123456789+05:30", "2023-05-04T06:30:00.123456789Z"),
        ("2023-05-04T00:30:00.5+01:00", "2023-05-03T23:30:00.5Z"),
        ("2023-12-31T23:00:00,25-02:00", "2024-01-01T01:00:00.25Z"),
        ("20230504T120000-0500", "2023-05-04T17:00:00Z"),
        ("2023-05-04T12:00:00Z", "2023-05-04T12:00:00Z"),
        ("2023-05-04T12:00:00z", "2023-05-04T12:00:00z"),
        ("2023-05-04T12:00:00+00:00", "2023-05-04T12:00:00+00:00"),
        ("2023-05-04T12:00:00", "2023-05-04T12:00:00"),
        ("not a timestamp", "not a timestamp"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"),
    ],
)
def test_to_utc_keeps_the_instant_and_every_fractional_digit(sent, utc):
    assert to_utc(sent) == utc


def test_2_0_statement_timestamp_is_converted_to_utc():
    prepared = prepare(statement(timestamp="2023-05-04T12:00:00-05:00"))
    assert prepared["timestamp"] == "2023-05-04T17:00:00Z"


def test_1_0_3_statement_timestamp_keeps_its_offset():
    prepared = prepare(statement(timestamp="2023-05-04T12:00:00-05:00"), "1.0.3")
    assert prepared["timestamp"] == "2023-05-04T12:00:00-05:00"


def test_2_0_substatement_timestamp_is_converted_to_utc():
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:b@example.com"},
        "verb": {"id": "x:v"},
        "object": {"id": "x:a"},
        "timestamp": "2023-05-04T12:00:00-05:00",
    }
    prepared = prepare(statement(object=sub))
    assert prepared["object"]["timestamp"] == "2023-05-04T17:00:00Z"
    assert list(prepared["object"]) == list(sub)


def test_untouched_substatement_is_shared_not_copied():
    sub = {"objectType": "SubStatement", "actor": {}, "verb": {}, "object": {"id": "x:a"}}
    assert prepare(statement(object=sub))["object"] is sub


# -- contextActivities stored as arrays ---------------------------------------------------------


def test_single_context_activity_is_stored_as_list_of_one():
    original = statement(
        context={
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "contextActivities": {"parent": {"id": "x:p"}, "grouping": [{"id": "x:g"}]},
        }
    )
    prepared = prepare(original)
    assert prepared["context"]["contextActivities"] == {
        "parent": [{"id": "x:p"}],
        "grouping": [{"id": "x:g"}],
    }
    assert prepared["context"]["registration"] == original["context"]["registration"]
    assert statements_equivalent(original, prepared)


def test_substatement_context_activities_are_stored_as_lists():
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:b@example.com"},
        "verb": {"id": "x:v"},
        "object": {"id": "x:a"},
        "context": {"contextActivities": {"category": {"id": "x:c"}}},
    }
    prepared = prepare(statement(object=sub), "1.0.3")
    assert prepared["object"]["context"]["contextActivities"] == {"category": [{"id": "x:c"}]}


def test_context_already_in_list_form_is_shared():
    context = {"contextActivities": {"parent": [{"id": "x:p"}]}}
    assert prepare(statement(context=context))["context"] is context


def test_prepared_statement_is_equivalent_to_the_original():
    original = statement(
        timestamp="2023-05-04T12:00:00-05:00",
        context={"contextActivities": {"other": {"id": "x:o"}}},
    )
    assert statements_equivalent(original, prepare(original))
