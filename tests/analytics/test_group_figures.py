"""The learner figures per HRIS value (`queries.groups`, pure): each learner counts in its
value's group only, and a learner the slice did not resolve counts in none."""

from __future__ import annotations

from analytics import queries


def month(u: dict, t: dict | None = None, p: dict | None = None) -> dict:
    return {"u": u, "t": t or {}, "p": p or {}}


def test_each_group_takes_its_own_learners_times_and_minutes():
    docs = [
        month(
            {"attempted": {"ada": 1, "bo": 1, "cy": 1}, "completed": {"ada": 1, "cy": 1}},
            t={"ada": {"60": 1}, "cy": {"120": 1}},
            p={"ada": 60_000.0, "bo": 30_000.0},
        ),
        month({"attended": {"bo": 2}}, p={"bo": 90_000.0}),
    ]

    values = {"ada": "Sales", "bo": "Ops", "cy": None}
    found = queries.groups(docs, values, queries.learner_sets(docs))

    assert [g["value"] for g in found] == ["Ops", "Sales", None]
    ops, sales, none = found
    assert ops["learners"] == {"attempted": 1, "attended": 1}
    assert ops["attendance"] == {"minutes": 2.0, "learners": 1}
    assert ops["completion_time"]["learners"] == 0
    assert sales["learners"] == {"attempted": 1, "completed": 1}
    assert sales["rates"] == {"completion": 1.0, "pass": None}
    assert sales["completion_time"]["median_seconds"] == 60.0
    assert sales["attendance"] == {"minutes": 1.0, "learners": 0}
    assert none["completion_time"]["median_seconds"] == 120.0
    assert none["attendance"]["minutes"] == 0.0


def test_a_learner_left_out_of_the_slice_counts_in_no_group():
    docs = [month({"completed": {"ada": 1}}, t={"ada": {"60": 1}, "zed": {"5": 1}}, p={"zed": 6e4})]

    found = queries.groups(docs, {"ada": None}, queries.learner_sets(docs))

    assert len(found) == 1
    assert found[0]["completion_time"]["learners"] == 1
    assert found[0]["attendance"]["minutes"] == 0.0
