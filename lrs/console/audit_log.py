"""The audit log page (admin): newest first, filtered by action, paged by the last id seen,
through `AuditLog.list` as `GET /admin/audit` reads it."""

from __future__ import annotations

from starlette.responses import Response

from lrs.console.guard import Visit

PAGE = 50
MAX_ACTION = 64


async def audit_log(visit: Visit) -> Response:
    params = visit.request.query_params
    action = params.get("action", "").strip()[:MAX_ACTION] or None
    before = params.get("before") or None
    entries = await visit.services.audit.list(limit=PAGE, before=before, action=action)
    older = entries[-1].id if len(entries) == PAGE else None
    return visit.render("audit.html", entries=entries, action=action or "", older=older)
