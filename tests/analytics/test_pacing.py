from analytics.contribution import duration_seconds
from analytics.pacing import MAX_PAUSE_SECONDS, Pacing


def test_while_writes_are_in_flight_the_consumer_works_its_share_of_the_time():
    pause = Pacing(busy_share=0.1).pause_after(0.2, busy=True)
    assert 0.2 / (0.2 + pause) == 0.1 or abs(0.2 / (0.2 + pause) - 0.1) < 1e-9


def test_when_the_writes_stop_the_consumer_runs_flat_out_to_catch_up():
    assert Pacing(busy_share=0.1).pause_after(0.2, busy=False) == 0.0
    assert Pacing(busy_share=1.0).pause_after(0.2, busy=True) == 0.0


def test_one_slow_step_never_idles_the_consumer_for_long():
    assert Pacing(busy_share=0.01).pause_after(60, busy=True) == MAX_PAUSE_SECONDS


def test_durations_read_as_seconds():
    assert duration_seconds("PT1H30M") == 5400
    assert duration_seconds("PT0.5S") == 0.5
    assert duration_seconds("P1DT1S") == 86401
    assert duration_seconds("P2W") == 14 * 86400
    assert duration_seconds("P") is None
    assert duration_seconds("1 hour") is None
    assert duration_seconds(None) is None


def test_the_write_path_stays_busy_a_moment_after_its_writes_finish():
    from analytics.pacing import InFlightWrites

    writes = InFlightWrites()
    assert not writes.busy()
    writes.update({1, 2})
    assert writes.busy()
    writes.difference_update({1, 2})
    assert writes.busy(within=60)  # between two requests of a burst
    assert not writes.busy(within=0)
