"""Identities (admin): an HRIS file previewed (a dry run) before it is imported, and the
queue of events waiting for an identity, with re-drive.

The preview and the import are `IdentityService.preview_people` and `import_people`, the
calls behind `lrs identities import [--dry-run]` and `POST /admin/identities`, so the rows a
preview calls new, changed or conflicting are decided by the same plan the import applies.
The file is uploaded once and waits (see `lrs.console.uploads`) until **Apply** or expiry.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from forwarders.identity.import_file import FORMATS
from forwarders.identity.service import import_format
from lrs.console.audit_trail import audit
from lrs.console.guard import Visit
from lrs.console.uploads import Uploads
from statements.errors import BadRequest, PayloadTooLarge

UNMATCHED_PAGE = 50
MAX_REDRIVE = 200


def _uploads(visit: Visit) -> Uploads:
    return Uploads(visit.services.settings.data_dir / "console-uploads", visit.session.csrf)


async def identities(visit: Visit) -> Response:
    params = visit.request.query_params
    page = await visit.services.identities.list_unmatched(
        limit=UNMATCHED_PAGE, after=params.get("after") or None
    )
    return visit.render(
        "identities.html",
        formats=FORMATS,
        unmatched=page,
        redriven=params.get("redriven"),
    )


async def preview(visit: Visit) -> Response:
    assert visit.form is not None  # noqa: S101 - a POST page
    fmt = import_format(visit.field("format") or "csv")
    upload = visit.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise BadRequest("file: choose the HRIS file to import", {"field": "file"})
    service = visit.services.identities
    data = await upload.read(service.max_import_bytes + 1)
    if len(data) > service.max_import_bytes:
        limit = service.max_import_bytes
        raise PayloadTooLarge(f"file: over {limit} bytes", {"limit": limit})
    found = await service.preview_people(data, fmt)
    token = _uploads(visit).keep(data)
    return visit.render(
        "identity_preview.html",
        preview=found.as_dict(),
        filename=upload.filename,
        format=fmt,
        token=token,
    )


async def apply(visit: Visit) -> Response:
    fmt = import_format(visit.field("format"))
    data = _uploads(visit).take(visit.field("upload"))
    report = await visit.services.identities.import_people(data, fmt)
    counts = {k: report[k] for k in ("created", "updated", "unchanged", "conflicting_count")}
    await audit(visit, "identities.imported", fmt, {**counts, "redriven": report["redriven"]})
    return visit.render("identity_report.html", report=report)


async def redrive(visit: Visit) -> Response:
    """Resolve again the chosen unmatched events (by their identifier keys)."""
    assert visit.form is not None  # noqa: S101 - a POST page
    chosen = [e for e in visit.form.getlist("event") if isinstance(e, str)][:MAX_REDRIVE]
    if not chosen:
        raise BadRequest("event: choose at least one unmatched event", {"field": "event"})
    keys: set[str] = set()
    for event_id in chosen:
        keys.update((await visit.services.forwarders.get_event(event_id)).learner_keys)
    report = await visit.services.identities.redrive(keys)
    await audit(visit, "identities.redrive", f"{len(chosen)} events", dict(report))
    resolved = report.get("resolved", 0)
    return RedirectResponse(f"/console/identities?redriven={resolved}", status_code=303)
