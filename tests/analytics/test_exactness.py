"""Incremental rollups == a rebuild == an independent recount through GET /xapi/statements,
after a randomized mix of posts, voids (before and after their targets, twice), erasures,
concurrent writers, two competing consumers, and a consumer that crashes mid-apply."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from analytics.consumer import Consumer, LeaseLost
from analytics.rollups import RollupStore
from analytics.verify import _normalised, verify
from lrs.storage.analytics_source import MongoAnalyticsSource, horizon
from statements.vocabulary import canonical_verb, default_vocabulary

ACTIVITIES = [f"http://example.com/courses/{n}" for n in range(3)]
LEARNERS = [f"learner{n}" for n in range(8)]
DAYS = [(datetime(2026, 1, 1) + timedelta(days=n)).date().isoformat() for n in range(72)]
VERBS = [
    "completed",
    "https://w3id.org/xapi/adl/verbs/completed",
    "http://activitystrea.ms/complete",
    "passed",
    "failed",
    "attempted",
    "attended",
    "http://example.com/verbs/pondered",
]


class Clock:
    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self):
        return self.now


class CrashingRollups(RollupStore):
    """Applies the totals and day documents of a range, then dies before the learner
    documents."""

    def _parts(self, delta):
        return super()._parts(delta)[:1]

    async def _apply_buckets(self, delta, upto):
        pass

    async def apply(self, delta, upto, totals=None):
        await super().apply(delta, upto, totals)
        raise RuntimeError("crash after a partial apply")


def random_statement(rng, learner_statement, statement_id=None):
    verb = rng.choice(VERBS)
    result = {}
    if rng.random() < 0.6:
        result["score"] = {"scaled": rng.choice([-0.5, 0, 0.25, 0.5, 0.75, 1])}
    if rng.random() < 0.3:
        result["completion"] = rng.random() < 0.7
    if rng.random() < 0.3:
        result["success"] = rng.random() < 0.5
    if rng.random() < 0.3:
        result["duration"] = f"PT{rng.randrange(1, 90)}M"
    # over ten weeks: windows are covered by months, weeks and days
    day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 70))
    statement = learner_statement(
        rng.choice(LEARNERS),
        verb,
        activity=rng.choice(ACTIVITIES),
        timestamp=day.isoformat().replace("+00:00", "Z"),
        result=result or None,
    )
    statement["id"] = statement_id or str(uuid.uuid4())
    return statement


def voiding(learner_statement, target):
    statement = learner_statement("admin", "voided")
    statement["object"] = {"objectType": "StatementRef", "id": target}
    return statement


async def writer(client, rng, learner_statement, posted, rounds):
    for _ in range(rounds):
        batch = []
        for _ in range(rng.randrange(1, 6)):
            roll = rng.random()
            if roll < 0.15 and posted:
                batch.append(voiding(learner_statement, rng.choice(posted)))
            elif roll < 0.2:
                future = str(uuid.uuid4())  # voided before it arrives, posted later
                batch.append(voiding(learner_statement, future))
                posted.append(future)
                await client.post("/xapi/statements", json=[voiding(learner_statement, future)])
                batch.append(random_statement(rng, learner_statement, future))
            else:
                statement = random_statement(rng, learner_statement)
                posted.append(statement["id"])
                batch.append(statement)
        response = await client.post("/xapi/statements", json=batch)
        assert response.status_code == 200, response.text
        await asyncio.sleep(0)


def first_difference(left, right):
    for name in sorted(set(left) | set(right)):
        for doc_id in sorted(set(left[name]) | set(right[name])):
            if left[name].get(doc_id) != right[name].get(doc_id):
                return name, doc_id, left[name].get(doc_id), right[name].get(doc_id)
    return None


async def consume(consumer, stop):
    while not stop.is_set():
        try:
            await consumer.step()
        except LeaseLost:
            pass
        await asyncio.sleep(0.01)


async def independent_counts(client, activity, since="", until="9"):
    """Counts per canonical verb of the activity (with a timestamp in [since, until)), from
    GET /xapi/statements (voided ones are excluded by the store) and the vocabulary, without
    the rollups."""
    counts, learners, scores = {}, {}, []
    params = {"activity": activity, "limit": 500}
    url = "/xapi/statements"
    while url:
        body = (await client.get(url, params=params)).json()
        for s in body["statements"]:
            if s["object"].get("objectType", "Activity") != "Activity":
                continue
            if not since <= s["timestamp"][:10] < until:
                continue
            verb = canonical_verb(s, default_vocabulary())
            counts[verb] = counts.get(verb, 0) + 1
            learners.setdefault(verb, set()).add(s["actor"]["mbox"])
            if "scaled" in s.get("result", {}).get("score", {}):
                scores.append(s["result"]["score"]["scaled"])
        url, params = body.get("more") or None, None
    return counts, {v: len(who) for v, who in learners.items()}, scores


@pytest.mark.parametrize("seed", [1, 2])
async def test_incremental_rollups_equal_rebuild_and_recount(
    seed, client, analyst, services, make_credentials, learner_statement
):
    rng = random.Random(seed)
    db = services.client[services.settings.database]
    source = MongoAnalyticsSource(db)
    clock = Clock()

    def make_consumer(rollups=None):
        return Consumer(
            db,
            source,
            rollups or RollupStore(db),
            lambda: horizon(services.settings, services.in_flight),
            batch=7,
            clock=clock,
        )

    # a consumer crashes half-way through applying a range, holding the lease
    crashing = make_consumer(CrashingRollups(db))
    await client.post("/xapi/statements", json=[random_statement(rng, learner_statement)])
    with pytest.raises(RuntimeError):
        await crashing.step()
    clock.now += timedelta(minutes=1)  # its lease lapses

    # two consumers compete while four writers post, void and re-void concurrently
    stop = asyncio.Event()
    first, second = make_consumer(), make_consumer()
    consumers = [asyncio.create_task(consume(c, stop)) for c in (first, second)]
    posted: list[str] = []
    await asyncio.gather(
        *(
            writer(client, random.Random(seed * 10 + w), learner_statement, posted, 12)
            for w in range(4)
        )
    )
    # erasure of a learner while the consumers run
    admin = await make_credentials(("admin",))
    erased = await client.post(
        "/admin/erasure",
        json={"agent": {"mbox": f"mailto:{LEARNERS[0]}@example.com"}},
        headers=admin,
    )
    assert erased.status_code == 200
    assert erased.json()["counts"]["statements_deleted"] > 0
    await asyncio.gather(writer(client, rng, learner_statement, posted, 5))
    stop.set()
    await asyncio.gather(*consumers)
    final = make_consumer()
    clock.now += timedelta(minutes=1)
    progress = await final.catch_up()
    assert progress.pending_refreshes == 0

    report = await verify(source, final.rollups, progress.cursor)
    assert report.statements > 100
    assert report.differences == []

    incremental = {k: _normalised(v) for k, v in (await final.rollups.all_documents()).items()}
    await final.reset()
    await final.catch_up()
    rebuilt = {k: _normalised(v) for k, v in (await final.rollups.all_documents()).items()}
    assert incremental == rebuilt, first_difference(incremental, rebuilt)

    for activity in ACTIVITIES:
        # the all-time summary (its totals document) says what the day and learner
        # documents say over a window holding every statement, field for field
        url = "/analytics/activities/summary"
        all_time = (await analyst.get(url, params={"activity": activity})).json()
        whole = {"activity": activity, "since": "2000-01-01", "until": "2100-01-01"}
        windowed = (await analyst.get(url, params=whole)).json()
        assert windowed.pop("since") == "2000-01-01" and windowed.pop("until") == "2100-01-01"
        assert all_time.pop("since") is None and all_time.pop("until") is None
        assert all_time == windowed
        assert all_time["learners"]

    windows = [
        ("2026-01-01", "2026-03-12"),
        ("2026-01-07", "2026-02-26"),
        ("2026-02-01", "2026-03-01"),
    ]
    windows += [tuple(sorted(rng.sample(DAYS, 2))) for _ in range(4)]
    for activity in ACTIVITIES:
        for since, until in windows:  # months, weeks and edge days, each counted once
            counts, learners, _ = await independent_counts(client, activity, since, until)
            window = {"activity": activity, "since": since, "until": until}
            summary = (await analyst.get("/analytics/activities/summary", params=window)).json()
            assert (summary["counts"], summary["learners"]) == (counts, learners), window

    for activity in ACTIVITIES:
        counts, learners, scores = await independent_counts(client, activity)
        summary = (
            await analyst.get("/analytics/activities/summary", params={"activity": activity})
        ).json()
        assert summary["counts"] == counts
        assert summary["learners"] == learners
        assert summary["score"]["count"] == len(scores)
        if scores:
            assert summary["score"]["min"] == min(scores)
            assert summary["score"]["max"] == max(scores)
            assert summary["score"]["mean"] == pytest.approx(sum(scores) / len(scores))
