"""Folding the definitions seen in statements into the canonical Activity (1.0.3
Communication 2.5, Data 2.4.4.1; 2.0 4.1.6.4)."""

from __future__ import annotations

from statements.activities import (
    activity_definitions,
    activity_object,
    canonical_definition,
    definition_digest,
    merge_definitions,
)

A = "http://example.com/a"


def test_definitions_come_from_object_context_activities_and_substatements():
    statement = {
        "object": {
            "objectType": "SubStatement",
            "object": {"id": "http://e.com/sub", "definition": {"type": "http://t/sub"}},
            "context": {
                "contextActivities": {
                    "other": {"id": "http://e.com/o", "definition": {"type": "http://t/o"}}
                }
            },
        },
        "context": {
            "contextActivities": {
                "parent": [{"id": "http://e.com/p", "definition": {"type": "http://t/p"}}],
                "grouping": [{"id": "http://e.com/g"}, "junk"],
            }
        },
    }
    found = dict(activity_definitions(statement))
    assert found == {
        "http://e.com/p": {"type": "http://t/p"},
        "http://e.com/sub": {"type": "http://t/sub"},
        "http://e.com/o": {"type": "http://t/o"},
    }


def test_activity_object_without_objecttype_counts_and_empty_definitions_do_not():
    assert list(
        activity_definitions({"object": {"id": A, "definition": {"type": "http://t"}}})
    ) == [(A, {"type": "http://t"})]
    assert list(activity_definitions({"object": {"id": A, "definition": {}}})) == []
    assert (
        list(activity_definitions({"object": {"objectType": "Agent", "mbox": "mailto:a@b.c"}}))
        == []
    )


def test_digest_ignores_key_order_but_not_the_activity():
    one = canonical_definition({"type": "http://t", "name": {"en": "x"}})
    two = canonical_definition({"name": {"en": "x"}, "type": "http://t"})
    assert definition_digest(A, one) == definition_digest(A, two)
    assert definition_digest(A, one) != definition_digest(A + "/b", one)


def test_language_maps_and_extensions_merge_key_by_key_later_winning():
    older = {"name": {"en-US": "meeting", "de": "Treffen"}, "extensions": {"http://x/a": 1}}
    newer = {"name": {"fr-FR": "réunion", "de": "Sitzung"}, "extensions": {"http://x/b": 2}}
    merged = merge_definitions(older, newer)
    assert merged["name"] == {"en-US": "meeting", "de": "Sitzung", "fr-FR": "réunion"}
    assert merged["extensions"] == {"http://x/a": 1, "http://x/b": 2}


def test_scalars_take_the_later_value_but_interaction_rules_keep_the_first():
    older = {"type": "http://t/1", "interactionType": "choice", "correctResponsesPattern": ["a"]}
    newer = {"type": "http://t/2", "interactionType": "fill-in", "correctResponsesPattern": ["b"]}
    assert merge_definitions(older, newer) == {
        "type": "http://t/2",
        "interactionType": "choice",
        "correctResponsesPattern": ["a"],
    }


def test_interaction_components_merge_by_id_with_their_descriptions():
    older = {
        "choices": [
            {"id": "a", "description": {"en": "A"}},
            {"id": "b", "description": {"en": "B"}},
        ]
    }
    newer = {
        "choices": [
            {"id": "b", "description": {"fr": "Bé"}},
            {"id": "c", "description": {"en": "C"}},
            3,
        ]
    }
    assert merge_definitions(older, newer)["choices"] == [
        {"id": "a", "description": {"en": "A"}},
        {"id": "b", "description": {"en": "B", "fr": "Bé"}},
        {"id": "c", "description": {"en": "C"}},
    ]


def test_mismatched_shapes_take_the_later_value():
    assert merge_definitions({"name": "odd"}, {"name": {"en": "x"}}) == {"name": {"en": "x"}}


def test_activity_object_is_bare_without_definitions():
    assert activity_object(A, []) == {"objectType": "Activity", "id": A}
    assert activity_object(A, [{"type": "http://t"}]) == {
        "objectType": "Activity",
        "id": A,
        "definition": {"type": "http://t"},
    }
