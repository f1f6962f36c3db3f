from exports.vocabulary import canonical_verb


def test_provider_aliases_map_to_one_canonical_word():
    for iri in (
        "http://adlnet.gov/expapi/verbs/completed",
        "https://w3id.org/xapi/adl/verbs/completed",
        "http://activitystrea.ms/schema/1.0/complete",
        "http://activitystrea.ms/complete",
    ):
        assert canonical_verb({"verb": {"id": iri}}) == "completed"


def test_other_verbs_pass_through_as_their_iri():
    assert canonical_verb({"verb": {"id": "http://example.com/v/x"}}) == "http://example.com/v/x"
    assert canonical_verb({}) is None
