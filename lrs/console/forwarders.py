"""Forwarders with their health; each one's recent deliveries (every attempt with its
status and latency) and dead letters with replay of one, a selection or all (admin).

Reads and replays go through `ForwarderService`, as `/admin/forwarders` does, and replays
are audited under the admin API's action names (`event.replay`, `forwarder.replay`).
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from forwarders.errors import EventNotFound
from lrs.console.audit_trail import audit
from lrs.console.figures import forwarding_figures
from lrs.console.guard import Visit
from statements.errors import BadRequest

DEAD_LETTERS = 100
RECENT = 20


async def forwarders(visit: Visit) -> Response:
    counts, health = await forwarding_figures(visit.services)
    return visit.render("forwarders.html", forwarders=health, queue_depth=counts.due)


async def dead_letters(visit: Visit) -> Response:
    service = visit.services.forwarders
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    view = await service.get_forwarder(forwarder_id)
    events = await service.list_events(forwarder_id=forwarder_id, state="dead", limit=DEAD_LETTERS)
    recent = await service.list_events(forwarder_id=forwarder_id, limit=RECENT)
    return visit.render(
        "dead_letters.html",
        forwarder=view.forwarder,
        events=events,
        recent=recent,
        replayed=visit.request.query_params.get("replayed", ""),
    )


async def event(visit: Visit) -> Response:
    """One event with every delivery attempt: when, status, latency, outcome, error."""
    service = visit.services.forwarders
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    record = await service.get_event(str(visit.request.path_params["event_id"]))
    if record.forwarder_id != forwarder_id:
        raise EventNotFound(record.id)
    attempts = await service.list_attempts(record.id)
    return visit.render("event.html", event=record, attempts=attempts)


async def replay_one(visit: Visit) -> Response:
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    event_id = str(visit.request.path_params["event_id"])
    await visit.services.forwarders.replay_event(event_id)
    await audit(visit, "event.replay", event_id)
    return RedirectResponse(f"/console/forwarders/{forwarder_id}?replayed=1", status_code=303)


async def replay_selection(visit: Visit) -> Response:
    """Replay the chosen dead letters, each as `replay_one` would (and audited alike)."""
    assert visit.form is not None  # noqa: S101 - a POST page
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    chosen = [e for e in visit.form.getlist("event") if isinstance(e, str)][:DEAD_LETTERS]
    if not chosen:
        raise BadRequest("event: choose at least one dead letter", {"field": "event"})
    service = visit.services.forwarders
    for event_id in chosen:
        if (await service.get_event(event_id)).forwarder_id != forwarder_id:
            raise EventNotFound(event_id)
    for event_id in chosen:
        await service.replay_event(event_id)
        await audit(visit, "event.replay", event_id)
    return RedirectResponse(
        f"/console/forwarders/{forwarder_id}?replayed={len(chosen)}", status_code=303
    )


async def replay_all(visit: Visit) -> Response:
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    count = await visit.services.forwarders.replay_forwarder(forwarder_id, ["dead"])
    await audit(visit, "forwarder.replay", forwarder_id, {"states": ["dead"]})
    return RedirectResponse(f"/console/forwarders/{forwarder_id}?replayed={count}", status_code=303)
