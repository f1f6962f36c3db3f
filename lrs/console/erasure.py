"""Erasure of a learner (admin): a dry run shows what would be deleted and pseudonymised,
then a confirmation erases.

Both steps are `lrs.erasure.run_erasure`, the call behind `POST /admin/data/erasure`: the
dry run computes the very report the erasure will act on and writes nothing but its audit
entry (`erasure.dry_run`); the erasure is audited as `erasure.run`. The confirmation form
carries the agent exactly as the dry run parsed it, and asks the operator to type the
word ERASE, so a stray Enter cannot erase anyone.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from lrs.console.guard import Visit
from lrs.erasure import ErasureReport, parse_agent, run_erasure
from statements.errors import BadRequest

CONFIRM_WORD = "ERASE"
SHOWN = 50
"""Ids listed per kind on the page (the counts are always whole)."""


async def form(visit: Visit) -> Response:
    return visit.render("erasure.html", agent="")


async def dry_run(visit: Visit) -> Response:
    agent = _agent(visit.field("agent"))
    report = await _run(visit, agent, dry_run=True)
    return visit.render(
        "erasure_report.html",
        report=report,
        lists=_lists(report),
        agent=orjson.dumps(agent).decode(),
        word=CONFIRM_WORD,
    )


async def erase(visit: Visit) -> Response:
    agent = _agent(visit.field("agent"))
    if visit.field("confirm") != CONFIRM_WORD:
        raise BadRequest(f"confirm: type {CONFIRM_WORD} to erase", {"field": "confirm"})
    report = await _run(visit, agent, dry_run=False)
    return visit.render("erasure_report.html", report=report, lists=_lists(report), agent="")


def _agent(text: str) -> dict[str, Any]:
    """The agent as JSON (as the API takes it), or an email address as its mbox."""
    if not text:
        raise BadRequest("agent: required (a JSON Agent or an email address)", {"field": "agent"})
    if not text.startswith("{") and "@" in text:
        return parse_agent(
            {"objectType": "Agent", "mbox": f"mailto:{text.removeprefix('mailto:')}"}
        )
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("agent: not JSON nor an email address", {"field": "agent"}) from None
    return parse_agent(value)


async def _run(visit: Visit, agent: dict[str, Any], *, dry_run: bool) -> ErasureReport:
    services = visit.services
    return await run_erasure(
        services.client[services.settings.database],
        services.settings,
        services.audit,
        agent,
        dry_run=dry_run,
        actor=visit.credential.key,
        source=visit.source,
    )


def _lists(report: ErasureReport) -> list[tuple[str, int, list[str]]]:
    """(what, how many, the first SHOWN) for each kind of thing the erasure touches."""
    found = report.as_dict()
    return [
        (name.replace("_", " "), count, [_text(item) for item in found[name][:SHOWN]])
        for name, count in report.counts().items()
    ]


def _text(item: Any) -> str:
    return item if isinstance(item, str) else orjson.dumps(item).decode()
