"""The overview page: statements per day, top activities, completions, passes and fails per
day (from the analytics rollups when they are on; see `figures`), forwarding health and
queue."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from lrs.auth.scopes import statement_read_mode
from lrs.console.chart import Bar, bar_chart
from lrs.console.figures import (
    DAYS,
    delivery_outcomes,
    delivery_success,
    forwarding_figures,
    rollup_figures,
    statement_figures,
)
from lrs.console.guard import Visit
from statements.errors import Forbidden
from statements.index import agent_key


async def overview(visit: Visit) -> Response:
    values: dict[str, Any] = {"days": DAYS}
    try:
        mine = statement_read_mode(visit.credential) == "mine"
    except Forbidden:
        values["statements"] = None
    else:
        values["rollups"] = visit.services.settings.analytics_rollups
        if values["rollups"] and not mine:
            figures, outcomes = await rollup_figures(visit.services)
            values["outcomes"] = outcomes
            completions = [Bar(o.day[5:], o.counts["completed"]) for o in outcomes]
            values["outcome_chart"] = bar_chart(
                completions, f"Completions per day, last {DAYS} days"
            )
        else:
            own = agent_key(visit.credential.authority) if mine else None
            figures = await statement_figures(visit.services, own)
        values["statements"] = figures
        values["ingest_rate"] = visit.services.metrics.ingest.per_second()
        values["chart"] = bar_chart(figures.per_day, f"Statements stored per day, last {DAYS} days")
    if visit.is_admin:
        counts, health = await forwarding_figures(visit.services)
        values.update(
            queue_depth=counts.due,
            dead_letters=counts.in_state("dead"),
            unmatched=counts.in_state("unmatched"),
            forwarders=health,
            deliveries=delivery_outcomes(visit.services),
            success=await delivery_success(visit.services),
        )
    return visit.render("overview.html", **values)
