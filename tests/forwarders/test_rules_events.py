"""Rules (which statements a forwarder takes) and events (statement -> event -> payload)."""

from __future__ import annotations

import dataclasses

import pytest

from forwarders.errors import InvalidForwarder
from forwarders.events import (
    Event,
    event_id,
    event_type,
    generic_payload,
    revoked_event,
    score_percent,
    statement_event,
)
from forwarders.pipeline import Match, decide
from forwarders.rules import DEFAULT_VERBS, Forwarder, matches
from forwarders.spec import parse_spec
from tests.forwarders.conftest import ADL

COURSE = "http://adlnet.gov/expapi/activities/course"


def forwarder(**fields) -> Forwarder:
    return Forwarder(id="f1", name="f", url="https://example.com/hook", **fields)


def test_by_default_completed_and_passed_match(make_statement):
    assert DEFAULT_VERBS == (ADL + "completed", ADL + "passed")
    assert matches(forwarder(), make_statement())
    assert matches(forwarder(), make_statement(verb={"id": ADL + "passed"}))
    assert not matches(forwarder(), make_statement(verb={"id": ADL + "failed"}))
    failed = make_statement(verb={"id": ADL + "failed"}, result={"success": False})
    assert matches(forwarder(verbs=(ADL + "failed",)), failed)


def test_only_activities_match(make_statement):
    agent = {"objectType": "Agent", "mbox": "mailto:b@example.com"}
    assert not matches(forwarder(), make_statement(object=agent))
    ref = {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}
    assert not matches(forwarder(), make_statement(object=ref))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"activity_ids": ("http://example.com/courses/xapi-101",)}, True),
        ({"activity_ids": ("http://example.com/courses/other",)}, False),
        ({"activity_prefixes": ("http://example.com/courses/",)}, True),
        ({"activity_prefixes": ("http://example.com/quiz/",)}, False),
        ({"activity_ids": ("x",), "activity_prefixes": ("http://example.com/",)}, True),
        ({"activity_types": (COURSE,)}, True),
        ({"activity_types": ("http://adlnet.gov/expapi/activities/lesson",)}, False),
        ({"activity_prefixes": ("http://example.com/",), "activity_types": (COURSE,)}, True),
        ({"activity_prefixes": ("http://other/",), "activity_types": (COURSE,)}, False),
    ],
)
def test_activity_filters(make_statement, filters, expected):
    assert matches(forwarder(**filters), make_statement()) is expected


def test_a_spec_is_validated():
    assert parse_spec({"name": " n ", "url": "https://x"}, partial=False) == {
        "name": "n",
        "url": "https://x",
    }
    for bad, field in [
        ({"url": "https://x"}, "name"),
        ({"name": "n"}, "url"),
        ({"name": "n", "url": "https://x", "kind": "fax"}, "kind"),
        ({"name": "n", "url": "https://x", "verbs": []}, "verbs"),
        ({"name": "n", "url": "https://x", "verbs": [""]}, "verbs"),
        ({"name": "n", "url": "https://x", "max_in_flight": 0}, "max_in_flight"),
        ({"name": "n", "url": "https://x", "max_in_flight": True}, "max_in_flight"),
        ({"name": "n", "url": "https://x", "paused": "yes"}, "paused"),
        ({"name": "n", "url": 5}, "url"),
        ({"name": "", "url": "https://x"}, "name"),
        ({"name": "n", "url": "https://x", "colour": "red"}, "colour"),
    ]:
        with pytest.raises(InvalidForwarder) as caught:
            parse_spec(bad, partial=False)
        assert caught.value.field == field


def test_the_event_id_is_stable_per_forwarder_and_statement():
    assert event_id("f1", "s1") == event_id("f1", "s1")
    assert len({event_id("f1", "s1"), event_id("f2", "s1"), event_id("f1", "s2")}) == 3


def test_event_types_follow_the_verb():
    assert event_type(ADL + "completed") == "learning.completed"
    assert event_type(ADL + "mastered") == "learning.mastered"
    assert event_type("http://id.tincanapi.com/verb/viewed/") == "learning.viewed"
    assert event_type("urn:x:Done Well") == "learning.done_well"


@pytest.mark.parametrize(
    ("score", "percent"),
    [
        ({"scaled": 0.9}, 90.0),
        ({"scaled": -0.5}, 0.0),  # on 0-100, as templates' normalize_score_0_100
        ({"raw": 250, "min": 100, "max": 200}, 100.0),
        ({"raw": 15, "min": 0, "max": 20}, 75.0),
        ({"raw": 7, "max": 10}, 70.0),
        ({"raw": 150, "min": 100, "max": 200}, 50.0),
        ({"raw": 3}, None),
        ({"raw": 3, "min": 3, "max": 3}, None),
        (None, None),
    ],
)
def test_scores_are_normalised_to_0_100(score, percent):
    assert score_percent(score) == percent


def test_the_generic_payload(make_statement):
    statement = make_statement(
        id="6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        timestamp="2025-01-06T10:00:00.000Z",
        context={"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
        result={"completion": True, "success": False, "duration": "PT5M", "score": {"raw": 1}},
    )
    event = statement_event("f1", statement)
    assert generic_payload(event) == {
        "type": "learning.completed",
        "timestamp": "2025-01-06T10:00:00.000Z",
        "data": {
            "learner": {
                "mbox": "mailto:ada@example.com",
                "name": "Ada",
                "object_type": "Agent",
                "key": "mbox::mailto:ada@example.com",
            },
            "activity": {
                "id": "http://example.com/courses/xapi-101",
                "name": "xAPI 101",
                "type": COURSE,
            },
            "verb": {"id": ADL + "completed", "name": "completed"},
            "result": {"success": False, "completion": True, "score": None, "duration": "PT5M"},
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "statement_id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        },
    }
    assert Event.from_dict(event.as_dict()) == event
    assert event.as_dict() == dataclasses.asdict(event)  # every field, nothing more
    # what a generic forwarder stores and sends is exactly this; a CRM forwarder renders
    # its template for the resolved person instead (nothing before the person is known)
    generic = decide(Match(forwarder(), statement, event), None)
    assert (generic.state, generic.payload) == ("pending", generic_payload(event))
    crm = decide(Match(forwarder(kind="crm"), statement, event), None)
    assert (crm.state, crm.payload) == ("unmatched", None)


def test_a_revocation_carries_the_original_data_and_its_own_id(make_statement):
    original = statement_event("f1", make_statement(id="s1", stored="2025-01-01T00:00:00.000Z"))
    voiding = make_statement(id="v1", stored="2025-01-02T00:00:00.000Z", timestamp=None)
    revoked = revoked_event(original, voiding)
    assert revoked.id == event_id("f1", "v1")
    payload = generic_payload(revoked)
    assert payload["type"] == "learning.revoked"
    assert payload["timestamp"] == "2025-01-02T00:00:00.000Z"
    assert payload["data"]["statement_id"] == "s1"
    assert payload["data"]["revokes_event_id"] == original.id
    assert payload["data"]["voiding_statement_id"] == "v1"
