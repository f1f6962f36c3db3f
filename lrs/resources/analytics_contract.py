"""The OpenAPI description of the aggregate endpoints (lrs.resources.analytics): their query
tables, built from the bounds `analytics.params` checks, and their answers' schemas.

Kept beside the handlers' module, not in it, so that adding an endpoint there is one
`@DESCRIPTION` line plus an entry here.
"""

from __future__ import annotations

from analytics.params import INTERVALS
from lrs.analytics_people import COLUMNS as GROUP_COLUMNS
from lrs.auth.scopes import ADMIN, ANALYTICS_READ
from lrs.openapi.operations import Access, Reply, operation
from lrs.openapi.params import IntParam, TextParam
from lrs.openapi.schemas import INTEGER, NUMBER, STRING, array, nullable, obj

MAX_LEARNER_PAGE = 100
ACCESS = Access(
    (ANALYTICS_READ, ADMIN), "xAPI's `all` does not reach them: the aggregates join HRIS data."
)
DAY = "A UTC day (`2026-03-01`) or a UTC midnight (`2026-03-01T00:00:00Z`): rollups hold days."
EXAMPLE_ACTIVITY = "http://example.com/courses/xapi-101"

ACTIVITY = TextParam(
    "activity", "The activity IRI", required=True, min_length=1, example=EXAMPLE_ACTIVITY
)
SINCE = TextParam("since", f"Inclusive lower bound on the statement timestamp. {DAY}")
UNTIL = TextParam("until", f"Exclusive upper bound on the statement timestamp. {DAY}")
INTERVAL = TextParam("interval", "The bucket of each point (default day)", enum=INTERVALS)
DAY_CURSOR = TextParam(
    "cursor", "The `cursor` of the previous page", pattern=r"^\d{4}-\d{2}-\d{2}$"
)
AGENT = TextParam(
    "agent",
    "The learner: an xAPI Agent as JSON, with an inverse functional identifier",
    required=True,
    min_length=1,
    example='{"mbox": "mailto:ada@example.com"}',
)
LEARNER_CURSOR = TextParam("cursor", "The `cursor` of the previous page")
LEARNER_LIMIT = IntParam(
    "limit", "Activities per page", default=MAX_LEARNER_PAGE, minimum=1, maximum=MAX_LEARNER_PAGE
)

PER_VERB = {"type": "object", "additionalProperties": INTEGER}
"""Keyed by the canonical verb (`completed`, `passed`, ...)."""
SCORE = obj(
    ("count",), count=INTEGER, mean=nullable(NUMBER), min=nullable(NUMBER), max=nullable(NUMBER)
)
THROUGH = {"through": STRING}
WINDOW = {"since": nullable(STRING), "until": nullable(STRING)}

SUMMARY_ANSWER = obj(
    ("activity", "counts", "learners", "score", "through"),
    activity=STRING,
    counts=PER_VERB,
    learners=PER_VERB,
    score=SCORE,
    score_distribution=obj(("buckets", "below_zero"), buckets=array(INTEGER), below_zero=INTEGER),
    rates=obj((), **{"completion": nullable(NUMBER), "pass": nullable(NUMBER)}),
    completion_time={"type": "object"},
    attendance=obj((), minutes=NUMBER, learners=INTEGER),
    complete={"type": "boolean"},
    **WINDOW,
    **THROUGH,
)
SERIES_ANSWER = obj(
    ("activity", "interval", "points", "cursor", "through"),
    activity=STRING,
    interval={"enum": list(INTERVALS)},
    points=array({"type": "object"}),
    cursor=nullable(STRING),
    **WINDOW,
    **THROUGH,
)
LEARNER_ANSWER = obj(
    ("learner", "activities", "cursor", "through"),
    learner=STRING,
    activities=array(obj(("activity",), activity=STRING)),
    cursor=nullable(STRING),
    **THROUGH,
)

SUMMARY = operation(
    "GET",
    "Counts, distinct learners and score statistics of one activity, per canonical verb",
    tag="analytics",
    access=ACCESS,
    query=(ACTIVITY, SINCE, UNTIL),
    ok=Reply(
        200,
        "The summary, from the rollups (`through`: every statement stored before it counts)",
        SUMMARY_ANSWER,
        {
            "activity": EXAMPLE_ACTIVITY,
            "counts": {"attempted": 40, "completed": 31, "passed": 28},
            "learners": {"attempted": 35, "completed": 30, "passed": 27},
            "score": {"count": 28, "mean": 0.84, "min": 0.5, "max": 1.0},
            "since": None,
            "until": None,
            "through": "2026-03-01T12:00:00.000Z",
        },
    ),
)
TIMESERIES = operation(
    "GET",
    "The same counts per day, week or month, a bounded page of periods at a time",
    tag="analytics",
    access=ACCESS,
    query=(ACTIVITY, INTERVAL, SINCE, UNTIL, DAY_CURSOR),
    ok=Reply(200, "A page of points; `cursor` continues (null: no more)", SERIES_ANSWER),
)
GROUP_BY = TextParam(
    "group_by",
    "An HRIS column the identity import carries (docs/analytics.md)",
    required=True,
    enum=tuple(GROUP_COLUMNS),
)
GROUPS_ANSWER = obj(
    ("activity", "group_by", "groups", "complete", "through"),
    activity=STRING,
    group_by=STRING,
    groups=array(
        obj(
            ("value", "learners"),
            value=nullable(STRING),
            learners=PER_VERB,
            rates={"type": "object"},
            completion_time={"type": "object"},
            attendance={"type": "object"},
        )
    ),
    complete={"type": "boolean"},
    **WINDOW,
    **THROUGH,
)
GROUPS = operation(
    "GET",
    "The summary's learner figures per value of an HRIS column (department, manager, ...)",
    tag="analytics",
    access=ACCESS,
    query=(ACTIVITY, GROUP_BY, SINCE, UNTIL),
    ok=Reply(
        200,
        "One group per value; learners who resolve to no person group under null",
        GROUPS_ANSWER,
    ),
)
LEARNER = operation(
    "GET",
    "One learner's status in every activity",
    tag="analytics",
    access=ACCESS,
    query=(AGENT, LEARNER_CURSOR, LEARNER_LIMIT),
    ok=Reply(200, "A page of activities; `cursor` continues (null: no more)", LEARNER_ANSWER),
)
