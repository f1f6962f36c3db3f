"""The seq-window planner: bounded reads in stored order, sized from observed density."""

from __future__ import annotations

from lrs.storage.sequence import MS_SHIFT
from lrs.storage.windows import MAX_ROUNDS, WindowPlan, choose_index
from statements.types import StatementQuery

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
    assert len(drain(plan, lambda w: 0)) <= 12


def test_reading_stops_once_the_page_is_full():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=11)
    windows = drain(plan, lambda w: 11)
    assert len(windows) == 1


def test_known_density_sizes_the_first_window_to_the_page():
    plan = WindowPlan(low=0, high=10**9 * MS, ascending=False, want=10, density=2.0)
    window = plan.next_window()
    assert window is not None
    assert (window[1] - window[0]) // MS == int(10 / 2.0 * 1.25) + 1


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


def test_index_choice_prefers_the_most_selective_filter():
    assert choose_index(StatementQuery(registration="r", agent="a"), None) == "registration_seq"
    assert choose_index(StatementQuery(agent="a", verb="v"), None) == "agent_seq"
    assert choose_index(StatementQuery(agent="a", related_agents=True), None) == "agent_rel_seq"
    assert choose_index(StatementQuery(activity="x", verb="v"), None) == "activity_seq"
    assert choose_index(StatementQuery(activity="x", related_activities=True), None) == (
        "activity_rel_seq"
    )
    assert choose_index(StatementQuery(verb="v"), None) == "verb_seq"
    assert choose_index(StatementQuery(), "key") == "auth_seq"
    assert choose_index(StatementQuery(), None) == "seq"


def test_every_chosen_index_exists():
    from lrs.storage.indexes import STATEMENT_INDEXES

    names = {model.document["name"] for model in STATEMENT_INDEXES}
    queries = [
        StatementQuery(registration="r"),
        StatementQuery(agent="a"),
        StatementQuery(agent="a", related_agents=True),
        StatementQuery(activity="x"),
        StatementQuery(activity="x", related_activities=True),
        StatementQuery(verb="v"),
        StatementQuery(),
    ]
    assert {choose_index(q, None) for q in queries} | {choose_index(StatementQuery(), "k")} <= names
