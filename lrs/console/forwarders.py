"""Forwarders with their health, and each one's dead letters with replay (admin).

Reads and replays go through `ForwarderService`, as `/admin/forwarders` does, and replays
are audited under the admin API's action names (`event.replay`, `forwarder.replay`).
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from lrs.console.audit_trail import audit
from lrs.console.figures import forwarding_figures
from lrs.console.guard import Visit

DEAD_LETTERS = 100


async def forwarders(visit: Visit) -> Response:
    counts, health = await forwarding_figures(visit.services)
    return visit.render("forwarders.html", forwarders=health, queue_depth=counts.due)


async def dead_letters(visit: Visit) -> Response:
    service = visit.services.forwarders
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    view = await service.get_forwarder(forwarder_id)
    events = await service.list_events(forwarder_id=forwarder_id, state="dead", limit=DEAD_LETTERS)
    return visit.render(
        "dead_letters.html",
        forwarder=view.forwarder,
        events=events,
        replayed=visit.request.query_params.get("replayed", ""),
    )


async def replay_one(visit: Visit) -> Response:
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    event_id = str(visit.request.path_params["event_id"])
    await visit.services.forwarders.replay_event(event_id)
    await audit(visit, "event.replay", event_id)
    return RedirectResponse(f"/console/forwarders/{forwarder_id}?replayed=1", status_code=303)


async def replay_all(visit: Visit) -> Response:
    forwarder_id = str(visit.request.path_params["forwarder_id"])
    count = await visit.services.forwarders.replay_forwarder(forwarder_id, ["dead"])
    await audit(visit, "forwarder.replay", forwarder_id, {"states": ["dead"]})
    return RedirectResponse(f"/console/forwarders/{forwarder_id}?replayed={count}", status_code=303)
