"""A forwarder's tools (admin): secret rotation (the new secret shown once), the exact
payload a stored statement would produce, and replay of dead letters created in a range.

Each calls what the admin API and the CLI call: `ForwarderService.rotate_secret` and
`replay_range` (audited under the API's action names, `forwarder.rotate-secret` and
`events.replay`), and `forwarders.preview.preview`, the dry run behind
`lrs forwarders preview`, which reads and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
from starlette.responses import RedirectResponse, Response

from forwarders.preview import preview
from forwarders.rules import Forwarder
from lrs.console.audit_trail import audit
from lrs.console.guard import Visit
from lrs.resources.admin_forwarders import overlap_hours, parse_time
from statements.errors import BadRequest, NotFound
from statements.formats import is_uuid

DEFAULT_OVERLAP_HOURS = 24


async def _forwarder(visit: Visit) -> Forwarder:
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    return (await visit.services.forwarders.get_forwarder(forwarder_id)).forwarder


async def confirm_rotation(visit: Visit) -> Response:
    forwarder = await _forwarder(visit)
    return visit.render("rotate.html", forwarder=forwarder, overlap=DEFAULT_OVERLAP_HOURS)


async def rotate(visit: Visit) -> Response:
    forwarder = await _forwarder(visit)
    hours = overlap_hours(_number("overlap_hours", visit.field("overlap_hours")))
    overlap = timedelta(hours=hours)
    secret = await visit.services.forwarders.rotate_secret(forwarder.id, None, overlap)
    await audit(visit, "forwarder.rotate-secret", forwarder.id, {"overlap_hours": hours})
    return visit.render("rotated.html", forwarder=forwarder, secret=secret, overlap=hours)


async def payload_preview(visit: Visit) -> Response:
    """GET with `statement` (an id): the request the forwarder would send for it."""
    forwarder = await _forwarder(visit)
    statement_id = visit.request.query_params.get("statement", "").strip()
    if not statement_id:
        return visit.render("payload_preview.html", forwarder=forwarder, statement_id="")
    if not is_uuid(statement_id):
        raise BadRequest("statement: must be a statement id (a UUID)", {"field": "statement"})
    found = await visit.services.statements.get_statement(statement_id, voided=False)
    if found is None:
        raise NotFound(f"no statement {statement_id} (or it is voided)")
    service = visit.services.forwarders
    now = service.clock()
    result = await preview(
        forwarder, orjson.loads(found.raw), service.pipeline, now, int(now.timestamp())
    )
    return visit.render(
        "payload_preview.html",
        forwarder=forwarder,
        statement_id=statement_id,
        result=result,
    )


async def replay_range(visit: Visit) -> Response:
    forwarder = await _forwarder(visit)
    start = parse_time(visit.field("start"), "start")
    end = parse_time(visit.field("end"), "end")
    if end <= start:
        raise BadRequest("end: must be after start", {"field": "end"})
    count = await visit.services.forwarders.replay_range(start, end, forwarder_id=forwarder.id)
    details = {"start": visit.field("start"), "end": visit.field("end"), "replayed": count}
    await audit(visit, "events.replay", forwarder.id, details)
    return RedirectResponse(f"/console/forwarders/{forwarder.id}?replayed={count}", 303)


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number", {"field": name}) from None
