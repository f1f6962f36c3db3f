"""Exports (admin): start a job (format, filters, columns), watch its progress, download its
files with their checksums.

A job is started by `ExportEndpoints.start_job`, the path behind `POST /admin/exports`: the
form becomes the same request body, so the API's checks (and its 400 naming the field) and
its `export.start` audit entry apply unchanged. Files are served only when the finished
job's manifest lists them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import FileResponse, RedirectResponse, Response

from exports.columns import DEFAULT_COLUMNS
from exports.jobs import ExportJob
from exports.spec import DEFAULT_SETTLE_SECONDS, FORMATS
from lrs.console.guard import Visit
from lrs.resources.admin_exports import ExportEndpoints, media_type_of
from statements.errors import BadRequest, NotFound

FILTERS = ("verb", "activity", "agent", "registration")
"""xAPI statement filters the form offers (as `GET /xapi/statements` reads them)."""
REFRESH_SECONDS = 2


class ExportPages:
    def __init__(self, exports: ExportEndpoints) -> None:
        self.exports = exports

    async def index(self, visit: Visit) -> Response:
        jobs = await self.exports.runner_for(visit.services).store.list()
        return visit.render(
            "exports.html",
            jobs=jobs,
            formats=FORMATS,
            filters=FILTERS,
            columns="\n".join(DEFAULT_COLUMNS),
            settle=f"{DEFAULT_SETTLE_SECONDS:g}",
        )

    async def start(self, visit: Visit) -> Response:
        body = request_body(visit)
        job = await self.exports.start_job(visit.services, body, visit.credential.key, visit.source)
        return RedirectResponse(f"/console/exports/{job.id}", status_code=303)

    async def job(self, visit: Visit) -> Response:
        job = await self._job(visit)
        running = job.state == "running"
        headers = {"Refresh": str(REFRESH_SECONDS)} if running else {}
        response = visit.render("export.html", job=job, files=_files(job))
        response.headers.update(headers)
        return response

    async def download(self, visit: Visit) -> Response:
        job = await self._job(visit)
        path = self.exports.file_path(visit.services, job, visit.request.path_params["name"])
        return FileResponse(
            path, media_type=media_type_of(path.name), filename=path.name, headers=_no_store()
        )

    async def _job(self, visit: Visit) -> ExportJob:
        job_id = str(visit.request.path_params["job_id"])
        job = await self.exports.runner_for(visit.services).store.get(job_id)
        if job is None:
            raise NotFound(f"no export {job_id!r}")
        return job


def request_body(visit: Visit) -> dict[str, Any]:
    """The form as the API's request body: blank fields left out, so the API's defaults hold."""
    body: dict[str, Any] = {"format": visit.field("format")}
    filters = {name: visit.field(name) for name in FILTERS if visit.field(name)}
    if filters:
        body["filters"] = urlencode(filters)
    for name in ("since", "until"):
        if visit.field(name):
            body[name] = visit.field(name)
    if visit.field("include_voided"):
        body["include_voided"] = True
    columns = [c.strip() for c in visit.field("columns").splitlines() if c.strip()]
    if columns and body["format"] != "ndjson":
        body["columns"] = columns
    if visit.field("settle_seconds"):
        body["settle_seconds"] = _number("settle_seconds", visit.field("settle_seconds"))
    return body


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number of seconds", {"field": name}) from None


def _files(job: ExportJob) -> list[dict[str, Any]]:
    return list((job.manifest or {}).get("files", ())) if job.state == "done" else []


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}
