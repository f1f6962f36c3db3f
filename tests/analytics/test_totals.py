"""The totals document's increments (pure): distinct learners, the rates' pairs and time to
completion change exactly when a learner's all-time state does, also on a redo."""

from analytics.contribution import Contribution, Delta, learner_id
from analytics.queries import totals_summary
from analytics.totals import recounted_totals, totals_increments

COURSE = "http://example.com/course"
ANN = learner_id(COURSE, "mbox:ann")


def delta_of(*contributions):
    delta = Delta()
    for verb, sign, moment_ms, score in contributions:
        contribution = Contribution(COURSE, verb, "mbox:ann", "2026-01-01", score, moment_ms)
        delta.add(contribution, sign)
    return delta


def test_a_learners_first_statement_for_a_verb_adds_one_learner_and_a_second_adds_none():
    first, _ = totals_increments(delta_of(("completed", 1, 0, None)), {}, 10)
    assert first[COURSE]["l.completed"] == 1

    again, _ = totals_increments(
        delta_of(("completed", 1, 0, None)), {ANN: {"v": {"completed": 1}, "upto": 10}}, 20
    )
    assert "l.completed" not in again[COURSE]
    assert again[COURSE]["c.completed"] == 1


def test_taking_back_a_learners_last_statement_for_a_verb_removes_the_learner():
    before = {ANN: {"v": {"passed": 1, "failed": 1}, "upto": 10}}
    totals, stale = totals_increments(delta_of(("passed", -1, 0, None)), before, 20)
    assert totals[COURSE]["l.passed"] == -1
    assert "r.j" not in totals[COURSE]  # still judged: failed
    assert stale == set()


def test_a_redo_over_a_learner_document_already_past_the_range_gives_the_same_increments():
    delta = delta_of(("passed", 1, 0, None), ("failed", 1, 0, None))
    first, _ = totals_increments(delta, {ANN: {"v": {}, "upto": 10}}, 20)
    redo, stale = totals_increments(delta, {ANN: {"v": {"passed": 1, "failed": 1}, "upto": 20}}, 20)
    assert redo == first
    assert first[COURSE]["l.passed"] == 1 and first[COURSE]["r.j"] == 1
    assert stale == set()


def test_a_redo_that_cannot_tell_the_first_times_before_the_range_asks_for_a_recount():
    delta = delta_of(("completed", 1, 5_000, None))
    after = {ANN: {"v": {"completed": 1, "attempted": 1}, "f": {"completed": 5_000}, "upto": 20}}
    _, stale = totals_increments(delta, after, 20)
    assert stale == {COURSE}


def test_an_earlier_first_attempt_moves_the_learners_time_to_completion():
    before = {ANN: {"v": {"attempted": 1, "completed": 1}, "upto": 10,
                    "f": {"attempted": 10_000, "completed": 70_000}}}  # fmt: skip
    totals, _ = totals_increments(delta_of(("attempted", 1, 0, None)), before, 20)
    assert totals[COURSE]["t.60%2E0"] == -1
    assert totals[COURSE]["t.70%2E0"] == 1


def test_the_all_time_figures_of_a_recount():
    delta = delta_of(
        ("attempted", 1, 0, 0.25),
        ("completed", 1, 90_000, 1.0),
        ("passed", 1, 90_000, 0.75),
    )
    summary = totals_summary({"a": COURSE, **_nested(recounted_totals(delta)[COURSE])})
    assert summary["counts"] == {"attempted": 1, "completed": 1, "passed": 1}
    assert summary["learners"] == {"attempted": 1, "completed": 1, "passed": 1}
    assert summary["rates"] == {"completion": 1.0, "pass": 1.0}
    assert summary["score"] == {"count": 3, "mean": 2 / 3, "min": 0.25, "max": 1.0}
    assert summary["completion_time"]["median_seconds"] == 90.0


def _nested(increments):
    doc = {}
    for path, value in increments.items():
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc
