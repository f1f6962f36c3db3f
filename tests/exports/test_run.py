"""`exports.run` helpers that no export's output shows."""

import gc

from exports.run import paused_gc


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
