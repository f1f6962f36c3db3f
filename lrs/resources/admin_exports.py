"""Export jobs over HTTP under /admin (scope `admin`; docs/exports.md).

    POST /admin/exports                    {"format": "csv", "filters": "verb=...", ...}
                                           -> 202 the job (state "running")
    GET  /admin/exports                    -> {"exports": [job, ...]} newest first
    GET  /admin/exports/{id}               -> the job: state, progress, manifest when done
    GET  /admin/exports/{id}/files/{name}  -> a file of a finished job, with Content-Length
                                              and byte ranges (resumable downloads)

`admin` only, not `analytics/read`: an export carries every statement whole (emails,
extensions, responses) joined to HRIS employee ids, far more than the aggregates that
scope reads, and it spends the server's disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from exports.identities import HrisEmployeeIds
from exports.jobs import ExportJob, ExportJobStore, ExportRunner, Sources
from exports.manifest import MANIFEST
from exports.spec import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_SETTLE_SECONDS,
    FORMATS,
    ExportSpec,
    build_spec,
)
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.openapi.operations import ADMIN_ONLY, Body, Link, Reply, operation
from lrs.openapi.schemas import ANY_OBJECT, STRING, array, closed, nullable, obj
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, NotFound

MAX_BODY = 64 * 1024
FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "filters": str,
    "since": str,
    "until": str,
    "after": str,
    "include_voided": bool,
    "columns": list,
    "max_file_bytes": int,
    "settle_seconds": (int, float),
}
"""The body's fields and their types: `parse_request` checks against it, the document
describes the body from it (`request_schema`)."""
JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    list: "array",
    int: "integer",
    float: "number",
}


def request_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, kind in FIELDS.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        types = sorted({JSON_TYPES[k] for k in kinds} - ({"integer"} if float in kinds else set()))
        properties[name] = {"type": types[0] if len(types) == 1 else types}
    properties["format"]["enum"] = list(FORMATS)
    properties["columns"]["items"] = {"type": "string"}
    return closed(obj(("format",), **properties))


JOB = obj(
    ("id", "state", "request", "progress", "manifest", "error", "created", "links"),
    id=STRING,
    state={"enum": ["running", "done", "failed"]},
    request=ANY_OBJECT,
    progress=ANY_OBJECT,
    manifest=nullable(ANY_OBJECT),
    error=nullable(STRING),
    created_by=nullable(STRING),
    created=STRING,
    updated=STRING,
    links=obj(("self", "files"), self=STRING, files=ANY_OBJECT),
)
JOB_EXAMPLE: dict[str, Any] = {
    "id": "e3b0c44298fc1c14",
    "state": "done",
    "request": {"format": "csv", "since": "2026-03-01T00:00:00Z"},
    "progress": {"rows": 1200, "files": 1},
    "manifest": {
        "files": [
            {"name": "part-00000.csv.gz", "rows": 1200, "bytes": 48213, "sha256": "9f86d0..."}
        ],
        "rows": 1200,
        "cursor": "c1.AAABjT...",
    },
    "error": None,
    "created_by": "8f14e45fceea167a5a36",
    "created": "2026-03-01T10:00:00+00:00",
    "updated": "2026-03-01T10:00:04+00:00",
    "links": {
        "self": "https://lrs.example.com/admin/exports/e3b0c44298fc1c14",
        "files": {
            "part-00000.csv.gz": "https://lrs.example.com/admin/exports/e3b0c44298fc1c14/files/part-00000.csv.gz",
            "manifest.json": "https://lrs.example.com/admin/exports/e3b0c44298fc1c14/files/manifest.json",
        },
    },
}
FILE_TYPES = ("application/gzip", "application/vnd.apache.parquet", "application/json")


def parse_request(value: Any) -> ExportSpec:
    """The POST body: each field checked for its type, then the spec for its meaning."""
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    for name, item in value.items():
        kind = FIELDS.get(name)
        if kind is None:
            raise BadRequest(f"unknown field {name!r}", {"field": name})
        if not isinstance(item, kind) or (kind is not bool and isinstance(item, bool)):
            raise BadRequest(f"{name} has the wrong type", {"field": name})
    if "format" not in value:
        raise BadRequest("format is required", {"field": "format"})
    columns = value.get("columns")
    if columns is not None and not all(isinstance(c, str) for c in columns):
        raise BadRequest("columns must be a list of strings", {"field": "columns"})
    return build_spec(
        value["format"],
        filters=value.get("filters", ""),
        since=value.get("since"),
        until=value.get("until"),
        after=value.get("after"),
        include_voided=value.get("include_voided", False),
        columns=columns,
        max_file_bytes=value.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES),
        settle_seconds=float(value.get("settle_seconds", DEFAULT_SETTLE_SECONDS)),
    )


class ExportEndpoints:
    """The routes, and the runner whose tasks live as long as the app (see `running`)."""

    def __init__(self) -> None:
        self.runner: ExportRunner | None = None
        self._indexed = False

    def runner_for(self, services: Services) -> ExportRunner:
        if self.runner is None:
            db = services.client[services.settings.database]
            root = services.settings.data_dir / "exports"
            self.runner = ExportRunner(ExportJobStore(db), root)
        return self.runner

    async def start_job(
        self, services: Services, body: dict[str, Any], actor: str, source: str | None
    ) -> ExportJob:
        """Check the request, start its job and audit it (the API's and the console's path)."""
        spec = parse_request(body)
        sources = Sources(
            services.statements,
            HrisEmployeeIds(services.identities.store),
            services.consistent_through_ms,
        )
        runner = self.runner_for(services)
        if not self._indexed:
            await runner.store.ensure_indexes()
            self._indexed = True
        job = await runner.start(spec, body, actor, sources)
        await services.audit.record(
            actor=actor,
            action="export.start",
            target=job.id,
            source=source,
            details={"format": spec.format, **spec.manifest_query()},
        )
        return job

    def file_path(self, services: Services, job: ExportJob, name: str) -> Path:
        """A finished job's file, if the job lists it (never a path built from user input)."""
        listed = {f["name"] for f in (job.manifest or {}).get("files", ())} | {MANIFEST}
        if job.state != "done" or name not in listed:
            raise NotFound(f"export {job.id} has no file {name!r} (yet)")
        return self.runner_for(services).directory(job.id) / name

    @operation(
        "POST",
        "Start an export job (NDJSON, CSV or Parquet; docs/exports.md)",
        tag="exports",
        access=ADMIN_ONLY,
        body=Body(
            request_schema(),
            {"format": "csv", "filters": "verb=http://adlnet.gov/expapi/verbs/completed"},
        ),
        ok=Reply(
            202,
            "The job, running",
            JOB,
            {
                **JOB_EXAMPLE,
                "state": "running",
                "progress": {"rows": 0},
                "manifest": None,
                "links": {"self": JOB_EXAMPLE["links"]["self"], "files": {}},
            },
            links={"get": Link("GET /admin/exports/{job_id}", {"job_id": "$response.body#/id"})},
        ),
    )
    async def start(self, request: Request) -> Response:
        credential = credential_of(request.scope)
        require_admin(credential)
        body = parse_json(await read_body(request, MAX_BODY))
        source = request.client.host if request.client else None
        job = await self.start_job(request.state.services, body, credential.key, source)
        return XAPIResponse(self._view(request, job), status_code=202)

    @operation(
        "GET",
        "Every export job, newest first",
        tag="exports",
        access=ADMIN_ONLY,
        ok=Reply(
            200, "The jobs", obj(("exports",), exports=array(JOB)), {"exports": [JOB_EXAMPLE]}
        ),
    )
    async def index(self, request: Request) -> Response:
        require_admin(credential_of(request.scope))
        jobs = await self.runner_for(request.state.services).store.list()
        return XAPIResponse({"exports": [self._view(request, job) for job in jobs]})

    @operation(
        "GET",
        "One export job: state, progress, the manifest when done",
        tag="exports",
        access=ADMIN_ONLY,
        ok=Reply(200, "The job", JOB, JOB_EXAMPLE),
    )
    async def get(self, request: Request) -> Response:
        require_admin(credential_of(request.scope))
        job = await self._job(request)
        return XAPIResponse(self._view(request, job))

    @operation(
        "GET",
        "A file of a finished job, with Content-Length and byte ranges (resumable)",
        tag="exports",
        access=ADMIN_ONLY,
        ok=Reply(200, "The file", {}, media_types=FILE_TYPES, headers={"Content-Length": "Bytes"}),
    )
    async def download(self, request: Request) -> Response:
        require_admin(credential_of(request.scope))
        job = await self._job(request)
        path = self.file_path(request.state.services, job, request.path_params["name"])
        return FileResponse(path, media_type=media_type_of(path.name))

    async def _job(self, request: Request) -> ExportJob:
        job_id = request.path_params["job_id"]
        job = await self.runner_for(request.state.services).store.get(job_id)
        if job is None:
            raise NotFound(f"no export {job_id!r}")
        return job

    @staticmethod
    def _view(request: Request, job: ExportJob) -> dict[str, Any]:
        view = job.as_dict()
        base = str(request.url_for("export", job_id=job.id))
        files = [f["name"] for f in (job.manifest or {}).get("files", ())]
        view["links"] = {
            "self": base,
            "files": {name: f"{base}/files/{name}" for name in [*files, MANIFEST]}
            if job.state == "done"
            else {},
        }
        return view

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: jobs still running when it ends are cancelled (and
        recorded as failed) rather than left behind."""
        try:
            yield
        finally:
            if self.runner is not None:
                async with self.runner.running():
                    pass
            self.runner = None

    def routes(self) -> list[Route]:
        return [
            Route("/exports", self.start, methods=["POST"]),
            Route("/exports", self.index, methods=["GET"]),
            Route("/exports/{job_id}", self.get, methods=["GET"], name="export"),
            Route("/exports/{job_id}/files/{name}", self.download, methods=["GET", "HEAD"]),
        ]


def media_type_of(name: str) -> str:
    if name.endswith(".gz"):
        return "application/gzip"
    if name.endswith(".parquet"):
        return "application/vnd.apache.parquet"
    return "application/json"
