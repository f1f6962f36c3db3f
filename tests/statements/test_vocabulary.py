import pytest

from statements.vocabulary import (
    InvalidVocabulary,
    canonical_verb,
    classify,
    default_vocabulary,
    extend,
    parse_vocabulary,
)

CMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5"


def statement(verb, *, result=None, categories=(), obj=None):
    s = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": verb}}
    s["object"] = obj or {"id": "http://example.com/course"}
    if result is not None:
        s["result"] = result
    if categories:
        s["context"] = {"contextActivities": {"category": [{"id": c} for c in categories]}}
    return s


@pytest.mark.parametrize(
    ("iri", "word"),
    [
        ("http://adlnet.gov/expapi/verbs/completed", "completed"),
        ("https://w3id.org/xapi/adl/verbs/completed", "completed"),
        ("http://activitystrea.ms/schema/1.0/complete", "completed"),
        ("http://activitystrea.ms/complete", "completed"),
        ("http://adlnet.gov/expapi/verbs/attended", "attended"),
        ("http://activitystrea.ms/attend", "attended"),
        ("https://w3id.org/xapi/adb/verbs/attended", "attended"),
        ("http://adlnet.gov/expapi/verbs/attempted", "attempted"),
        ("http://adlnet.gov/expapi/verbs/passed", "passed"),
        ("http://adlnet.gov/expapi/verbs/failed", "failed"),
        ("http://adlnet.gov/expapi/verbs/scored", "scored"),
        ("http://adlnet.gov/expapi/verbs/voided", "voided"),
    ],
)
def test_default_vocabulary_maps_provider_verbs_onto_canonical_words(iri, word):
    assert canonical_verb(statement(iri), default_vocabulary()) == word


def test_unknown_verbs_pass_through_as_their_iri():
    iri = "http://example.com/verbs/pondered"
    assert canonical_verb(statement(iri), default_vocabulary()) == iri


@pytest.mark.parametrize(
    ("verb", "result", "expected"),
    [
        ("completed", {"completion": True}, "completed"),
        ("completed", {"completion": False}, "http://adlnet.gov/expapi/verbs/completed"),
        ("passed", {"success": True}, "passed"),
        ("passed", {"success": False}, "http://adlnet.gov/expapi/verbs/passed"),
        ("failed", {"success": False}, "failed"),
        ("failed", {"success": True}, "http://adlnet.gov/expapi/verbs/failed"),
    ],
)
def test_result_contradicting_the_verb_keeps_the_iri(verb, result, expected):
    iri = f"http://adlnet.gov/expapi/verbs/{verb}"
    assert canonical_verb(statement(iri, result=result), default_vocabulary()) == expected


def test_plain_statement_without_result_gets_the_word():
    iri = "http://adlnet.gov/expapi/verbs/passed"
    assert canonical_verb(statement(iri), default_vocabulary()) == "passed"


def test_cmi5_statement_must_carry_the_result_field():
    iri = "http://adlnet.gov/expapi/verbs/completed"
    vocabulary = default_vocabulary()
    assert canonical_verb(statement(iri, categories=[CMI5]), vocabulary) == iri
    cmi5 = statement(iri, result={"completion": True}, categories=[CMI5])
    assert canonical_verb(cmi5, vocabulary) == "completed"


def test_classify_records_object_type_and_version():
    vocabulary = default_vocabulary()
    ref = {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}
    canon = classify(statement("http://adlnet.gov/expapi/verbs/voided", obj=ref), vocabulary)
    assert canon.as_document() == {
        "verb": "voided",
        "type": "StatementRef",
        "v": vocabulary.version,
    }
    assert classify(statement("http://x.example/v"), vocabulary).object_type == "Activity"


def test_operator_extension_adds_aliases_and_names_both_versions():
    extension = parse_vocabulary(
        {"version": "acme-3", "aliases": {"completed": ["https://acme.example/verbs/finished"]}}
    )
    merged = extend(default_vocabulary(), extension)
    assert merged.version == default_vocabulary().version + "+acme-3"
    assert canonical_verb(statement("https://acme.example/verbs/finished"), merged) == "completed"
    assert canonical_verb(statement("http://activitystrea.ms/complete"), merged) == "completed"


def test_document_form_round_trips():
    vocabulary = default_vocabulary()
    again = parse_vocabulary(vocabulary.as_document())
    assert again.aliases == vocabulary.aliases
    assert again.rules == vocabulary.rules
    assert {"attempted", "completed", "passed", "failed", "scored", "attended", "voided"} <= set(
        again.words()
    )


@pytest.mark.parametrize(
    ("document", "field", "rule"),
    [
        ([], "/", "object"),
        ({"aliases": {}}, "version", "required"),
        ({"version": "x", "aliases": {"done": ["not-an-iri"]}}, "aliases.done", "iri"),
        ({"version": "x", "aliases": {"a.b": []}}, "aliases.a.b", "word"),
        ({"version": "x", "aliases": {"done": "http://x.example/v"}}, "aliases.done", "array"),
        ({"version": "x", "rules": {"done": {"result.success": [1]}}}, "rules.done", "object"),
        (
            {"version": "x", "aliases": {"a": ["http://x.example/v"], "b": ["http://x.example/v"]}},
            "aliases.b",
            "unique",
        ),
        ({"version": "x", "strict_categories": "c"}, "strict_categories", "array"),
    ],
)
def test_invalid_vocabulary_names_field_and_rule(document, field, rule):
    with pytest.raises(InvalidVocabulary) as caught:
        parse_vocabulary(document)
    assert caught.value.details == {"field": field, "rule": rule}
