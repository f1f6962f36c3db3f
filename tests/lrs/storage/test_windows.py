"""The seq-window planner: bounded reads in stored order, sized from observed density."""

from __future__ import annotations

from lrs.storage.sequence import MS_SHIFT
from lrs.storage.windows import MAX_ROUNDS, WIDEST_FIRST, DensityMemory, WindowPlan

MS = 1 << MS_SHIFT


def drain(plan: WindowPlan, matches_per_window) -> list[tuple[int, int]]:
    windows = []
    while (window := plan.next_window()) is not None:
        windows.append(window)
        plan.record(window, matches_per_window(window))
    return windows


def test_descending_windows_start_at_the_top_and_tile_downwards():
    plan = WindowPlan(low=0, high=10_000 * MS, ascending=False, want=11)
    windows = drain(plan, lambda w: 0)
    assert windows[0][1] == 10_000 * MS
    assert all(a[0] == b[1] for a, b in zip(windows, windows[1:], strict=False))
    assert windows[-1][0] == 0


def test_ascending_windows_start_at_the_bottom_and_tile_upwards():
    plan = WindowPlan(low=5 * MS, high=10_000 * MS, ascending=True, want=11)
    windows = drain(plan, lambda w: 0)
    assert windows[0][0] == 5 * MS
    assert windows[-1][1] == 10_000 * MS


def test_empty_windows_grow_geometrically_so_an_empty_history_costs_few_rounds():
    fifty_years_ms = 50 * 365 * 24 * 3600 * 1000
    plan = WindowPlan(low=0, high=fifty_years_ms * MS, ascending=False, want=11)
    assert len(drain(plan, lambda w: 0)) <= 20


def test_reading_stops_once_the_page_is_full():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=11)
    windows = drain(plan, lambda w: 11)
    assert len(windows) == 1


def test_known_density_sizes_the_first_window_to_the_page():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=10, density=2.0)
    window = plan.next_window()
    assert window is not None
    assert (window[1] - window[0]) // MS == int(10 / 2.0 * 1.25) + 1


def test_a_sparse_known_density_opens_one_wide_window():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=10, density=1e-5)
    window = plan.next_window()
    assert (window[1] - window[0]) // MS == int(10 / 1e-5 * 1.25) + 1


def test_the_first_window_holds_at_most_a_few_pages_at_the_densest_plausible_density():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=10, density=1e-5, densest=1.0)
    window = plan.next_window()
    assert (window[1] - window[0]) // MS == 10 * WIDEST_FIRST + 1


def test_a_page_cut_short_by_its_limit_counts_only_the_stretch_read():
    plan = WindowPlan(low=0, high=1000 * MS, ascending=False, want=11, density=0.1)
    window = plan.next_window()
    plan.record(window, 11, stopped_at=window[1] - 20 * MS)
    assert plan.observed_density() == 11 / 20
    ascending = WindowPlan(low=0, high=1000 * MS, ascending=True, want=11, density=0.1)
    window = ascending.next_window()
    ascending.record(window, 11, stopped_at=window[0] + 10 * MS - 1)
    assert ascending.observed_density() == 11 / 10


def test_density_memory_knows_each_query_and_guesses_a_new_one_from_its_kind():
    memory = DensityMemory()
    assert memory.estimate("a:1", "a") == (None, None)
    for i, density in enumerate([0.1, 0.2, 0.3, 0.4, 5.0]):
        memory.remember(f"a:{i}", "a", density)
    assert memory.estimate("a:1", "a") == (0.2, None)
    assert memory.estimate("a:new", "a") == (0.3, 5.0)
    assert memory.estimate("v:new", "v") == (None, None)


def test_density_memory_is_bounded():
    memory = DensityMemory(capacity=2, per_kind=2)
    for i in range(5):
        memory.remember(i, "a", float(i))
    assert memory.estimate(4, "a") == (4.0, None)
    assert memory.estimate(3, "a") == (3.0, None)
    assert memory.estimate(0, "a") == (4.0, 4.0)  # forgotten: the kind's last two, 3 and 4


def test_observed_density_is_matches_per_millisecond():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=100, density=1.0)
    window = plan.next_window()
    plan.record(window, 50)
    assert plan.observed_density() == 50 / ((window[1] - window[0]) // MS)


def test_rounds_are_bounded():
    plan = WindowPlan(low=0, high=2**62, ascending=False, want=10**9)
    assert len(drain(plan, lambda w: 1)) <= MAX_ROUNDS


def test_empty_range_reads_nothing():
    assert WindowPlan(low=5, high=5, ascending=False, want=1).next_window() is None


def test_resuming_inside_a_window_continues_just_past_the_last_read():
    plan = WindowPlan(low=0, high=1000 * MS, ascending=False, want=5)
    window = plan.next_window()
    plan.resume_after(window[1] - 7)
    plan.record(window, 0)
    assert plan.next_window()[1] == window[1] - 7
    ascending = WindowPlan(low=0, high=1000 * MS, ascending=True, want=5)
    window = ascending.next_window()
    ascending.resume_after(window[0] + 3)
    ascending.record(window, 0)
    assert ascending.next_window()[0] == window[0] + 4


def test_first_descending_window_reaches_down_from_the_newest_known_statement():
    high = 10**9 * MS
    plan = WindowPlan(low=0, high=high, ascending=False, want=11, start=high - 500_000 * MS)
    window = plan.next_window()
    assert window[1] == high
    assert window[0] == high - 500_000 * MS + 1 - 200 * MS


def test_density_ignores_the_empty_stretch_above_the_newest_statement():
    high = 10**9 * MS
    plan = WindowPlan(low=0, high=high, ascending=False, want=11, start=high - 60_000 * MS)
    window = plan.next_window()
    plan.record(window, 11)
    assert plan.observed_density() == 11 / 200


def test_after_an_empty_window_the_density_counts_only_what_was_read_past_it():
    """A page that crossed a gap between bursts of writes: its `more` page starts in the
    dense stretch below the gap, so the gap's sparseness must not size its first window."""
    high = 10**9 * MS
    plan = WindowPlan(low=0, high=high, ascending=False, want=11, density=1.0)
    window = plan.next_window()
    plan.record(window, 7)  # the newest burst
    while (window := plan.next_window()) is not None:
        if window[0] > high - 5_000 * MS:  # the gap: 5 s without a statement
            plan.record(window, 0)
            continue
        first_at = min(window[1], high - 5_000 * MS) - 1
        plan.record(window, 4, stopped_at=first_at - 8 * MS, first_at=first_at)
        break
    assert plan.found == 11
    assert plan.observed_density() == 4 / 8  # not 11 over the 5 s and more crossed


def test_ascending_after_an_empty_window_the_density_counts_from_the_first_match():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=True, want=5, density=1.0)
    window = plan.next_window()
    plan.record(window, 0)
    window = plan.next_window()
    first_at = window[0] + 2 * MS
    plan.record(window, 5, stopped_at=first_at + 10 * MS - 1, first_at=first_at)
    assert plan.observed_density() == 5 / 10
