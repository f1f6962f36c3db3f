"""`exports.run` helpers, each on its own (exports end to end: the other test modules)."""

import gc

from exports.run import canonical_verbs, paused_gc
from statements.types import StoredStatement


def test_paused_gc_turns_the_collector_off_for_the_block_and_on_again():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_gc_leaves_a_collector_someone_turned_off_off():
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_canonical_verbs_are_the_stored_words_or_the_verb_classified_now():
    completed = '{"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}}'
    other = '{"verb": {"id": "http://example.com/verbs/juggled"}}'
    statements = [
        StoredStatement("a", 1, completed, canonical_verb="finished"),  # an operator's word
        StoredStatement("b", 2, completed),  # stored before verbs were classified
        StoredStatement("c", 3, other),
        StoredStatement("d", 4, "{}"),
    ]
    verbs = canonical_verbs(statements)
    assert verbs == ["finished", "completed", "http://example.com/verbs/juggled", None]
