"""A period's series point is kept beside its calendar document (`analytics.figures`): a
series of whole periods reads the points, and they say what the learner maps say."""

import random

from analytics import figures, queries
from analytics.consumer import CURSOR, DERIVED, LAYOUT, STATE
from analytics.contribution import field_name
from analytics.memo import Memo
from analytics.params import FIRST_DAY, PAST_LAST_DAY
from analytics.rollups import FIGURES, MARKS, PERIODS
from analytics.verify import verify
from tests.analytics.conftest import ADL, COURSE
from tests.analytics.finds import observed_rollups

VERBS = ["attempted", "completed", "passed", "failed", "attended", ADL + "answered"]


def _calendar_document(rng: random.Random) -> dict:
    """A day's calendar document as the consumer leaves it, voided zeros included."""
    learners = [f"mbox::mailto:l{i}@example.com" for i in range(6)]
    doc: dict = {"_id": "x", "a": COURSE, "d": "2026-03-02", "c": {}, "u": {}, "s": {"v": {}}}
    for verb in rng.sample(VERBS, rng.randint(1, len(VERBS))):
        name = field_name(verb)
        who = {field_name(x): rng.choice([0, 1, 2]) for x in rng.sample(learners, 3)}
        doc["c"][name] = sum(who.values())
        doc["u"][name] = who
    for value in rng.sample([0.1, 0.25, 0.5, 0.9, 1.0, -0.5], rng.randint(0, 4)):
        doc["s"]["v"][field_name(repr(value))] = rng.choice([0, 1, 3])
    if rng.random() < 0.5:
        doc["m"] = rng.choice([0, 90_000, 1_234_567])
    return doc


def test_a_periods_point_is_the_one_its_calendar_document_gives():
    rng = random.Random(7)
    for _ in range(300):
        doc = _calendar_document(rng)
        expected = queries.series({"2026-03-02": [doc]}, "day")
        kept = figures.entry(doc)
        if not expected:  # nothing counted (all voided): no point, nothing kept
            assert kept is None
            continue
        assert [figures.point("2026-03-02", kept)] == expected


def test_a_bundle_keeps_the_points_of_the_periods_it_holds_with_its_upto():
    day = {"c": {"completed": 1}, "u": {"completed": {"ada": 1}}}
    voided = {"c": {"completed": 0}, "u": {"completed": {"bob": 0}}}
    bundle = {"_id": "b", "a": COURSE, "k": "dy", "d": "2026-03-02", "upto": 9}
    bundle["y"] = {"2026-03-02": day, "2026-03-04": voided}

    kept = figures.figure_document(bundle)

    assert kept["_id"] == "b" and kept["upto"] == 9 and kept["k"] == "dy"
    assert list(kept["f"]) == ["2026-03-02"]
    assert kept["f"]["2026-03-02"]["l"] == {"completed": 1}
    assert [p["d"] for p in figures.figured([kept])] == ["2026-03-02"]


async def _statements(client, learner_statement, seed=3):
    rng = random.Random(seed)
    statements = []
    for n in range(80):
        day = f"2026-{rng.randint(1, 5):02}-{rng.randint(1, 28):02}"
        verb = rng.choice(["attempted", "completed", "passed", "failed"])
        statement = learner_statement(
            rng.choice(["ada", "bob", "cy", "dee"]), verb, timestamp=f"{day}T0{n % 10}:00:00Z"
        )
        if verb in ("passed", "failed"):
            statement["result"] = {"score": {"scaled": rng.choice([0.2, 0.5, 0.9])}}
        statements.append(statement)
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200


async def test_series_from_the_points_equal_series_from_the_learner_maps(
    client, services, learner_statement
):
    """Whole periods from their points, periods cut by the window from their days: the
    same answers as every period added up from its calendar documents."""
    await _statements(client, learner_statement)
    analytics = services.analytics
    await analytics.catch_up()
    windows = [
        (FIRST_DAY, PAST_LAST_DAY),
        ("2026-01-14", "2026-04-09"),  # cuts a week and a month at both ends
        ("2026-02-01", "2026-03-01"),
    ]
    asked = [(interval, window) for interval in ("day", "week", "month") for window in windows]

    async def answers():
        found = []
        for interval, (since, until) in asked:
            analytics.memo.version = None  # computed afresh
            cursor = None
            while True:
                page = await analytics.timeseries(COURSE, interval, since, until, cursor)
                found.append(page)
                if (cursor := page["cursor"]) is None:
                    break
        return found

    figured = await answers()

    async def not_figured() -> bool:
        return False

    analytics._figured = not_figured  # type: ignore[method-assign]
    assert await answers() == figured
    assert sum(len(page["points"]) for page in figured) > 20


async def test_figures_are_derived_for_a_store_of_the_layout_before_them(
    client, analyst, services, learner_statement
):
    """A store of the layout before the figures has them derived from its calendar
    documents (no rebuild: the cursor stays); until then a series adds up its calendar
    documents."""
    await _statements(client, learner_statement)
    analytics = services.analytics
    await analytics.catch_up()
    db = services.client[services.settings.database]
    weeks = {"activity": COURSE, "interval": "week"}
    answer = (await analyst.get("/analytics/activities/timeseries", params=weeks)).json()
    calendar = {doc["_id"]: doc async for doc in db[PERIODS].find({})}
    await db[FIGURES].delete_many({})
    await db[STATE].update_one({"_id": CURSOR}, {"$set": {"layout": DERIVED, "version": "old"}})
    analytics.memo.version = None
    analytics._changed()

    before = (await analyst.get("/analytics/activities/timeseries", params=weeks)).json()
    await analytics.catch_up()
    after = (await analyst.get("/analytics/activities/timeseries", params=weeks)).json()

    derived = await db[STATE].find_one({"_id": CURSOR})
    assert derived["layout"] == LAYOUT
    assert {doc["_id"]: doc async for doc in db[PERIODS].find({})} == calendar  # not rebuilt
    assert before["points"] == after["points"] == answer["points"]
    assert await db[FIGURES].count_documents({}) == len(calendar)
    assert (await verify(analytics.source, analytics.rollups, derived["seq"])).exact


async def test_a_range_marks_its_documents_and_the_idle_consumer_makes_their_figures(
    client, mongo_server, services, learner_statement
):
    """A range writes no figures, only one mark; until the idle consumer has made them, a
    series reads the calendar documents and counts the range all the same."""
    await _statements(client, learner_statement)
    analytics = services.analytics
    assert (await analytics.catch_up()).figures_current
    db = services.client[services.settings.database]
    figures_before = {doc["_id"]: doc async for doc in db[FIGURES].find({})}
    before = await analytics.timeseries(COURSE, "week", FIRST_DAY, PAST_LAST_DAY, None)

    await _statements(client, learner_statement, seed=4)
    for _ in range(20):  # the step that applies the range
        await analytics.consumer.step()
        if await db[MARKS].count_documents({}):
            break
    assert await db[MARKS].count_documents({}) == 1
    assert {doc["_id"]: doc async for doc in db[FIGURES].find({})} == figures_before
    assert not (await analytics.consumer.progress()).figures_current

    async with observed_rollups(analytics, mongo_server.uri, services.settings.database) as reads:
        analytics.memo = Memo()
        stale = await analytics.timeseries(COURSE, "week", FIRST_DAY, PAST_LAST_DAY, None)
        assert {name for name, _ in reads.sent} == {PERIODS}

    progress = await analytics.catch_up()
    analytics.memo = Memo()
    figured = await analytics.timeseries(COURSE, "week", FIRST_DAY, PAST_LAST_DAY, None)
    assert progress.figures_current
    assert await db[MARKS].count_documents({}) == 0
    assert stale == figured != before
    assert (await verify(analytics.source, analytics.rollups, progress.cursor)).exact


async def test_the_marks_of_several_ranges_are_made_together_a_limit_at_a_time(
    client, services, learner_statement
):
    """A calendar document that several ranges touched is made once; what a step leaves is
    marked again as one, and the last step leaves no mark."""
    analytics = services.analytics
    db = services.client[services.settings.database]
    analytics.consumer.batch = 10  # eight ranges for the 80 statements
    await _statements(client, learner_statement)
    while (await analytics.rollups.totals_of(COURSE)).get("n", 0) < 80:
        await analytics.consumer.step()  # ranges only: none is idle before the last
    marks = [doc async for doc in db[MARKS].find({})]
    marked = {i for mark in marks for i in mark["ids"]}
    assert len(marks) >= 8 and sum(len(mark["ids"]) for mark in marks) > len(marked)

    assert await analytics.rollups.refigure(limit=5) == 5
    [rest] = [doc async for doc in db[MARKS].find({})]
    assert sorted(rest["ids"]) == sorted(marked)[5:]
    assert await db[FIGURES].count_documents({}) == 5

    while await analytics.rollups.refigure(limit=5):
        pass
    assert await db[MARKS].count_documents({}) == 0
    assert await db[FIGURES].count_documents({}) == await db[PERIODS].count_documents({})
    progress = await analytics.catch_up()
    assert progress.figures_current
    assert (await verify(analytics.source, analytics.rollups, progress.cursor)).exact
