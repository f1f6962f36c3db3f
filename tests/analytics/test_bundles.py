"""An activity's days and weeks held by one document per month: the documents a query sees
are the ones it always saw, and a page or a window is one read."""

from analytics.bundles import DAYS, WEEKS, bundle_id, bundled, unbundled
from analytics.contribution import period_id
from analytics.memo import Memo
from analytics.params import FIRST_DAY, PAST_LAST_DAY
from analytics.rollups import FIGURES, PERIODS
from tests.analytics.conftest import COURSE
from tests.analytics.finds import observed_rollups

DAY, WEEK, MONTH = "2026-03-05", "2026-03-02", "2026-03-01"


def test_a_day_goes_to_its_weeks_bundle_a_week_to_its_months_and_a_month_stays_itself():
    ids = {period_id(COURSE, i, s): s for i, s in (("day", DAY), ("week", WEEK))}
    month = period_id(COURSE, "month", MONTH)
    increments = {doc_id: {"c.completed": 1.0, "u.completed.ada": 1.0} for doc_id in ids}
    increments[month] = {"c.completed": 2.0}
    identity = {
        period_id(COURSE, "day", DAY): {"a": COURSE, "d": DAY},
        period_id(COURSE, "week", WEEK): {"a": COURSE, "d": WEEK, "k": "w"},
        month: {"a": COURSE, "d": MONTH, "k": "m"},
    }

    found, held = bundled(increments, identity)

    assert found == {
        bundle_id(COURSE, DAYS, WEEK): {
            f"y.{DAY}.c.completed": 1.0,
            f"y.{DAY}.u.completed.ada": 1.0,
        },
        bundle_id(COURSE, WEEKS, MONTH): {
            f"w.{WEEK}.c.completed": 1.0,
            f"w.{WEEK}.u.completed.ada": 1.0,
        },
        month: {"c.completed": 2.0},
    }
    assert held[bundle_id(COURSE, DAYS, WEEK)] == {"a": COURSE, "k": DAYS, "d": WEEK}
    assert held[bundle_id(COURSE, WEEKS, MONTH)] == {"a": COURSE, "k": WEEKS, "d": MONTH}
    assert held[month] == identity[month]


def test_a_week_is_held_by_the_month_of_its_monday_and_a_day_by_its_week():
    week, day = "2026-03-30", "2026-04-02"  # a Monday and the Thursday after it, in April
    increments = {
        period_id(COURSE, "week", week): {"c.completed": 1.0},
        period_id(COURSE, "day", day): {"c.completed": 1.0},
    }
    identity = {
        period_id(COURSE, "week", week): {"a": COURSE, "d": week, "k": "w"},
        period_id(COURSE, "day", day): {"a": COURSE, "d": day},
    }
    assert list(bundled(increments, identity)[0]) == [
        bundle_id(COURSE, WEEKS, MONTH),
        bundle_id(COURSE, DAYS, week),
    ]


def test_a_bundle_reads_back_as_the_documents_it_holds():
    doc = {
        "_id": bundle_id(COURSE, DAYS, WEEK),
        "a": COURSE,
        "k": DAYS,
        "d": WEEK,
        "upto": 9,
        "y": {DAY: {"c": {"completed": 1}}, "2026-03-07": {"c": {"passed": 2}, "m": 60_000}},
    }
    month = {"_id": period_id(COURSE, "month", MONTH), "a": COURSE, "k": "m", "d": MONTH}

    assert unbundled([doc, month]) == [
        {"_id": period_id(COURSE, "day", DAY), "a": COURSE, "d": DAY, "c": {"completed": 1}},
        {
            "_id": period_id(COURSE, "day", "2026-03-07"),
            "a": COURSE,
            "d": "2026-03-07",
            "c": {"passed": 2},
            "m": 60_000,
        },
        month,
    ]


async def test_a_page_of_days_or_weeks_and_a_ragged_window_are_one_read(
    client, analyst, mongo_server, services, learner_statement
):
    """The page's bundles (its figures: `analytics.figures`), and those that decide its
    cursor, in one command: on the embedded database a command costs about ten documents'
    reading."""
    days = [f"2026-{m:02}-{d:02}" for m in (1, 2, 3, 4, 5) for d in (3, 12, 21, 28)]
    statements = [
        learner_statement(who, timestamp=f"{day}T09:00:00Z")
        for n, day in enumerate(days)
        for who in ("ada", "bob")[: 1 + n % 2]
    ]
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await services.analytics.catch_up()
    analytics = services.analytics
    asked = {
        "days": lambda: analytics.timeseries(COURSE, "day", "2026-03-01", PAST_LAST_DAY, None),
        "weeks": lambda: analytics.timeseries(COURSE, "week", FIRST_DAY, PAST_LAST_DAY, None),
        "window": lambda: analytics.summary(COURSE, "2026-01-22", "2026-04-16", True),
    }
    expected = {name: await answer() for name, answer in asked.items()}
    read = {"days": FIGURES, "weeks": FIGURES, "window": PERIODS}  # whole periods: their points

    async with observed_rollups(analytics, mongo_server.uri, services.settings.database) as reads:
        for name, answer in asked.items():
            analytics.memo = Memo()
            reads.sent.clear()
            assert await answer() == expected[name]
            assert [collection for collection, _ in reads.sent] == [read[name]], name

    assert [p["start"] for p in expected["days"]["points"]] == [
        "2026-03-03",
        "2026-03-12",
        "2026-03-21",
        "2026-03-28",
    ]
    assert expected["days"]["cursor"] == "2026-04-01"
    assert expected["weeks"]["points"][0]["start"] == "2025-12-29"  # the Monday of Jan 3
    assert expected["weeks"]["cursor"] is None  # 26 weeks reach past the last statement
    assert expected["window"]["counts"] == {"completed": 17}  # Jan 28 to Apr 12
