"""Learners: find one by email or HRIS employee id; their status in every course (from the
analytics per-learner rollups) and a timeline (their newest statements).

A person from the HRIS may appear in statements under several identifiers (each email, each
LMS account); the page looks up each one, as `GET /analytics/learners/activities` would for
that agent, and merges the counts per course. The timeline is the statement store's agent
query (as `GET /xapi/statements?agent=`), merged newest first. Statuses need
`analytics/read` (or `admin`), the timeline a scope that reads every statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from forwarders.identity.person import Person
from lrs.auth.scopes import require_analytics, statement_read_mode
from lrs.console.guard import Visit
from lrs.storage.sequence import ms_of, stored_string
from statements.errors import BadRequest, Forbidden
from statements.index import agent_key
from statements.types import StatementQuery

TIMELINE = 25
COURSES = 100
MAX_QUERY = 254
STATUS_ORDER = ("passed", "failed", "completed", "attempted")
"""The status a course shows: the first of these verbs the learner has (a pass after a fail
reads passed; a completion without a result reads completed)."""


@dataclass(frozen=True, slots=True)
class Course:
    activity: str
    status: str
    counts: Mapping[str, int]


def agents_of(person: Person) -> list[dict[str, Any]]:
    """Every xAPI agent that names this person: one per email, one per account."""
    emails = [e for e in (person.email, *person.emails) if e]
    agents: list[dict[str, Any]] = [{"mbox": f"mailto:{email}"} for email in emails]
    agents += [{"account": {"homePage": h, "name": n}} for h, n in person.accounts]
    return agents


def courses(answers: Iterable[Mapping[str, Any]]) -> list[Course]:
    """The rollup answers of several identifiers of one learner, merged per course."""
    merged: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for answer in answers:
        for item in answer["activities"]:
            for verb, n in item["counts"].items():
                merged[item["activity"]][verb] += n
    return [Course(a, status_of(c), dict(c)) for a, c in sorted(merged.items())]


def status_of(counts: Mapping[str, int]) -> str:
    return next((verb for verb in STATUS_ORDER if counts.get(verb)), "in progress")


async def learners(visit: Visit) -> Response:
    require_analytics(visit.credential)
    wanted = visit.request.query_params.get("q", "").strip()
    if not wanted:
        return visit.render("learners.html", wanted="")
    if len(wanted) > MAX_QUERY:
        raise BadRequest(f"q: at most {MAX_QUERY} characters", {"field": "q"})
    person, agents = await _find(visit, wanted)
    keys = [k for k in (agent_key(a) for a in agents) if k is not None]
    analytics = visit.services.analytics
    cursor = await analytics.through()  # before the answers, which may be kept under it
    answers = [await analytics.learner(key, None, COURSES) for key in keys]
    return visit.render(
        "learners.html",
        wanted=wanted,
        person=person,
        agents=[orjson.dumps(a).decode() for a in agents],
        courses=courses(answers),
        through=stored_string(ms_of(cursor)) if cursor else None,
        rollups_on=visit.services.settings.analytics_rollups,
        timeline=await _timeline(visit, keys),
    )


async def _find(visit: Visit, wanted: str) -> tuple[Person | None, list[dict[str, Any]]]:
    """By email: the agent with that mbox, and the HRIS person holding it, if any. Otherwise
    an employee id: the person's every identifier (404 when no person has that id)."""
    identities = visit.services.identities
    if "@" in wanted:
        agent = {"mbox": f"mailto:{wanted.removeprefix('mailto:')}"}
        resolved = await identities.store.resolve(agent)
        person = resolved.person
        return person, agents_of(person) if person is not None else [agent]
    person = await identities.get_person(wanted)
    return person, agents_of(person)


async def _timeline(visit: Visit, keys: list[str]) -> list[dict[str, Any]] | None:
    """The newest statements of any of `keys`, or None when the credential may not read
    every statement."""
    try:
        if statement_read_mode(visit.credential) != "all":
            return None
    except Forbidden:
        return None
    found = []
    for key in keys:
        query = StatementQuery(agent=key, limit=TIMELINE)
        page = await visit.services.statements.find_statements(query, authority_key=None)
        found += page.statements
    newest = sorted({s.id: s for s in found}.values(), key=lambda s: s.seq, reverse=True)
    return [_entry(orjson.loads(s.raw)) for s in newest[:TIMELINE]]


def _entry(statement: Mapping[str, Any]) -> dict[str, Any]:
    target = statement.get("object") or {}
    result = statement.get("result") or {}
    return {
        "id": statement["id"],
        "stored": statement.get("stored", ""),
        "verb": statement.get("verb", {}).get("id", ""),
        "object": target.get("id", target.get("objectType", "")),
        "success": result.get("success"),
        "score": (result.get("score") or {}).get("scaled"),
    }
