"""Export jobs started over HTTP: their records (the `exports` collection, owned here) and
the tasks that run them in the API process.

    exports  {_id: <job id>, state: running|done|failed, request: {...as posted},
              progress: {rows, files, through}, manifest: {...} (done), error: "..." (failed),
              created_by, created, updated}

A job runs as a task of the process that accepted it, its files under `<root>/<job id>/`.
`updated` is its heartbeat (at least every `HEARTBEAT_SECONDS` while rows flow): a job still
`running` with no heartbeat for `STALE_SECONDS` lost its process and reads as `interrupted`
(start it again; an export never resumes into a half-written directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from exports.run import Progress, run_export
from exports.source import EmployeeIds, StatementReader
from exports.spec import ExportSpec
from statements.errors import XAPIError

log = logging.getLogger(__name__)
EXPORTS = "exports"
INDEXES = [IndexModel([("created", DESCENDING)], name="created")]
HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 60.0
LIST_LIMIT = 100
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ExportJob:
    id: str
    state: str
    request: Mapping[str, Any]
    progress: Mapping[str, Any]
    manifest: Mapping[str, Any] | None
    error: str | None
    created_by: str
    created: datetime
    updated: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "request": dict(self.request),
            "progress": dict(self.progress),
            "manifest": None if self.manifest is None else dict(self.manifest),
            "error": self.error,
            "created_by": self.created_by,
            "created": _iso(self.created),
            "updated": _iso(self.updated),
        }


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExportJobStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], clock: Clock = _utc_now) -> None:
        self.jobs = db[EXPORTS]
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await self.jobs.create_indexes(INDEXES)

    async def create(self, request: Mapping[str, Any], created_by: str) -> ExportJob:
        now = self.clock()
        doc = {
            "_id": uuid.uuid4().hex,
            "state": "running",
            "request": dict(request),
            "progress": Progress().as_dict(),
            "created_by": created_by,
            "created": now,
            "updated": now,
        }
        await self.jobs.insert_one(doc)
        return self._job(doc)

    async def beat(self, job_id: str, progress: Progress) -> None:
        update = {"progress": progress.as_dict(), "updated": self.clock()}
        await self.jobs.update_one({"_id": job_id}, {"$set": update})

    async def finish(self, job_id: str, progress: Progress, manifest: Mapping[str, Any]) -> None:
        update = {
            "state": "done",
            "progress": progress.as_dict(),
            "manifest": dict(manifest),
            "updated": self.clock(),
        }
        await self.jobs.update_one({"_id": job_id}, {"$set": update})

    async def fail(self, job_id: str, error: str) -> None:
        update = {"state": "failed", "error": error, "updated": self.clock()}
        await self.jobs.update_one({"_id": job_id}, {"$set": update})

    async def get(self, job_id: str) -> ExportJob | None:
        doc = await self.jobs.find_one({"_id": job_id})
        return None if doc is None else self._job(doc)

    async def list(self, limit: int = LIST_LIMIT) -> list[ExportJob]:
        cursor = self.jobs.find({}).sort("created", DESCENDING).limit(limit)
        return [self._job(doc) async for doc in cursor]

    def _job(self, doc: Mapping[str, Any]) -> ExportJob:
        state = str(doc["state"])
        updated: datetime = doc["updated"]
        aware = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
        if state == "running" and self.clock() - aware > timedelta(seconds=STALE_SECONDS):
            state = "interrupted"
        return ExportJob(
            id=str(doc["_id"]),
            state=state,
            request=doc.get("request", {}),
            progress=doc.get("progress", {}),
            manifest=doc.get("manifest"),
            error=doc.get("error"),
            created_by=str(doc.get("created_by", "")),
            created=doc["created"],
            updated=updated,
        )


@dataclass(frozen=True, slots=True)
class Sources:
    """What a job reads: the statement store, the HRIS resolver, this process's
    consistent-through instant."""

    statements: StatementReader
    identities: EmployeeIds | None
    consistent_through_ms: Callable[[], int] | None


class ExportRunner:
    """Runs jobs as tasks of this process; cancels them when the process stops."""

    def __init__(self, store: ExportJobStore, root: Path) -> None:
        self.store = store
        self.root = root
        self.tasks: set[asyncio.Task[None]] = set()

    def directory(self, job_id: str) -> Path:
        return self.root / job_id

    async def start(
        self, spec: ExportSpec, request: Mapping[str, Any], created_by: str, sources: Sources
    ) -> ExportJob:
        job = await self.store.create(request, created_by)
        task = asyncio.create_task(self._run(job.id, spec, sources))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def _run(self, job_id: str, spec: ExportSpec, sources: Sources) -> None:
        beats = _Heartbeat(self.store, job_id)
        ticker = asyncio.create_task(beats.tick())
        try:
            manifest = await run_export(
                spec,
                sources.statements,
                self.directory(job_id),
                now=self.store.clock(),
                identities=sources.identities,
                consistent_through_ms=sources.consistent_through_ms,
                on_progress=beats.note,
            )
            await beats.flush()
            await self.store.finish(job_id, beats.progress, manifest.as_dict())
        except asyncio.CancelledError:
            await _quietly(self.store.fail(job_id, "the LRS process stopped during the export"))
            raise
        except XAPIError as error:
            await self._failed(job_id, error.message)
        except Exception as error:  # a job's failure is recorded, never lost in a task
            log.exception("export %s failed", job_id)
            await self._failed(job_id, f"{type(error).__name__}: {error}")
        finally:
            ticker.cancel()

    async def _failed(self, job_id: str, reason: str) -> None:
        shutil.rmtree(self.directory(job_id), ignore_errors=True)
        await _quietly(self.store.fail(job_id, reason))

    async def wait(self) -> None:
        """For tests and shutdown: until every running job has ended."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ExportRunner]:
        try:
            yield self
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


class _Heartbeat:
    """Progress is noted on every page and written at most every `HEARTBEAT_SECONDS`."""

    def __init__(self, store: ExportJobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self.progress = Progress()
        self.written_at = time.monotonic()
        self.pending: asyncio.Task[None] | None = None

    def note(self, progress: Progress) -> None:
        self.progress = Progress(progress.rows, progress.files, progress.through)
        writing = self.pending is not None and not self.pending.done()
        if not writing and time.monotonic() - self.written_at >= HEARTBEAT_SECONDS:
            self.written_at = time.monotonic()
            self.pending = asyncio.ensure_future(self.store.beat(self.job_id, self.progress))

    async def tick(self) -> None:
        """Beat while no page arrives (a sparse filter over a large store): a live job must
        never read as interrupted."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS * 5)
            if time.monotonic() - self.written_at >= HEARTBEAT_SECONDS * 5:
                self.written_at = time.monotonic()
                await _quietly(self.store.beat(self.job_id, self.progress))

    async def flush(self) -> None:
        if self.pending is not None:
            await self.pending


async def _quietly(write: Any) -> None:
    """Record an outcome; a database that is gone must not mask the original error."""
    try:
        await write
    except Exception:
        log.warning("could not record an export job's outcome", exc_info=True)
