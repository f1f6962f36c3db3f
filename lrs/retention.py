"""Retention: delete statements and finished deliveries older than a configured age
(docs/data-protection.md, "Retention").

- Statements stored (by their `seq`, whose high bits are the stored millisecond) strictly
  before `now - LRS_RETENTION_STATEMENT_DAYS` are deleted: one indexed range on
  `(keys="*", seq)`, streamed. Rule for voiding: an old voiding statement whose target is
  newer (kept) stays until its target goes, so a kept voided statement always has its
  voiding statement. An old voided statement goes even if its (newer) voiding statement
  stays: that one then voids nothing, as when it arrived before its target.
- Attachment contents no remaining statement carries are deleted (`h:<sha2>` keys).
- Forwarder events that are finished (delivered or dead) and were last updated strictly
  before `now - LRS_RETENTION_DELIVERY_DAYS` are deleted with their attempt logs (kept
  inside the event). Pending and failed events are never touched: they are work to do.

0 days means keep forever. A dry run counts the same and deletes nothing. Each run is
audit-logged (`retention.dry_run`, `retention.run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from analytics.refresh import Refreshes
from forwarders.queue import JobStore
from forwarders.secretbox import SecretBox
from forwarders.store import ForwarderStore
from lrs.audit import AuditLog
from lrs.settings import Settings
from lrs.storage import statement_keys
from lrs.storage.analytics_source import MongoAnalyticsSource
from lrs.storage.cleanup import BATCH, delete_ids, find_ids, unreferenced_attachments
from lrs.storage.sequence import MS_SHIFT, stored_string

Database = AsyncDatabase[dict[str, Any]]
DAY = timedelta(days=1)
log = logging.getLogger("lrs.retention")


@dataclass
class RetentionReport:
    dry_run: bool
    statement_cutoff: str | None = None
    """Statements stored before this instant go (None: statements are kept forever)."""
    delivery_cutoff: str | None = None
    """Finished deliveries last updated before this instant go (None: kept forever)."""
    statements_deleted: int = 0
    voiding_kept: int = 0
    """Old voiding statements kept because the statement they void is kept."""
    attachments_deleted: int = 0
    forwarder_events_deleted: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int) and k != "dry_run"}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def apply_retention(
    db: Database, settings: Settings, *, dry_run: bool, now: datetime
) -> RetentionReport:
    report = RetentionReport(dry_run=dry_run)
    if settings.retention_statement_days > 0:
        cutoff_ms = int((now - settings.retention_statement_days * DAY).timestamp() * 1000)
        report.statement_cutoff = stored_string(cutoff_ms)
        await _old_statements(db, cutoff_ms << MS_SHIFT, report)
    if settings.retention_delivery_days > 0:
        cutoff = now - settings.retention_delivery_days * DAY
        report.delivery_cutoff = cutoff.isoformat()
        jobs = JobStore(db)
        forwarders = await ForwarderStore(db, SecretBox(None)).ids()
        ids = await jobs.finished_before(forwarders, cutoff)
        report.forwarder_events_deleted = len(ids)
        if not dry_run:
            await jobs.delete(ids)
    return report


async def run_retention(
    db: Database,
    settings: Settings,
    audit: AuditLog,
    *,
    dry_run: bool,
    actor: str,
    source: str | None,
    now: datetime | None = None,
) -> RetentionReport:
    report = await apply_retention(db, settings, dry_run=dry_run, now=now or _utc_now())
    await audit.record(
        actor=actor,
        action="retention.dry_run" if dry_run else "retention.run",
        source=source,
        details={**report.counts(), "statement_cutoff": report.statement_cutoff},
    )
    return report


async def _old_statements(db: Database, cutoff_seq: int, report: RetentionReport) -> None:
    """Stream the old statements in batches; delete each batch (unless a dry run).

    The rollups of the activities they count towards are recounted afterwards (a refresh
    request: opened first, given each batch's activities before the batch goes)."""
    statements = db["statements"]
    refreshes = Refreshes(db)
    request = None if report.dry_run else await refreshes.open()
    match = {"keys": statement_keys.ALL, "seq": {"$lt": cutoff_seq}}
    kept: set[str] = set()
    hashes: set[str] = set()
    batch: list[dict[str, Any]] = []
    async for doc in statements.find(match, {"seq": 1, "ref": 1, "voiding": 1, "att": 1}):
        batch.append(doc)
        if len(batch) == BATCH:
            await _settle(db, batch, cutoff_seq, kept, hashes, report, request)
            batch = []
    if batch:
        await _settle(db, batch, cutoff_seq, kept, hashes, report, request)
    if request is not None:
        await refreshes.close(request)

    def remaining(doc: dict[str, Any]) -> list[str]:
        gone = doc["seq"] < cutoff_seq and doc["_id"] not in kept
        return [] if gone else list(doc.get("att", ()))

    orphans = await unreferenced_attachments(statements, hashes, remaining)
    report.attachments_deleted = len(orphans)
    if not report.dry_run:
        await delete_ids(db["attachments"], orphans)


async def _settle(
    db: Database,
    batch: list[dict[str, Any]],
    cutoff_seq: int,
    kept: set[str],
    hashes: set[str],
    report: RetentionReport,
    request: str | None,
) -> None:
    refs = [doc["ref"] for doc in batch if doc.get("voiding") and doc.get("ref")]
    targets = await find_ids(db["statements"], refs, {"seq": 1})
    staying = {t["_id"] for t in targets if t["seq"] >= cutoff_seq}
    doomed = []
    for doc in batch:
        if doc.get("voiding") and doc.get("ref") in staying:
            kept.add(doc["_id"])
            report.voiding_kept += 1
        else:
            doomed.append(doc["_id"])
            hashes.update(doc.get("att", ()))
    report.statements_deleted += len(doomed)
    if request is not None:
        activities = await MongoAnalyticsSource(db).activities_of(doomed)
        await Refreshes(db).add(request, activities)
        await delete_ids(db["statements"], doomed)


@contextlib.asynccontextmanager
async def periodic_retention(
    db: Database, settings: Settings, audit: AuditLog
) -> AsyncIterator[None]:
    """Apply the policy at start-up and then every LRS_RETENTION_INTERVAL_MINUTES, when
    that and an age are set. Every API process may run it: a run is idempotent."""
    ages = settings.retention_statement_days or settings.retention_delivery_days
    if settings.retention_interval_minutes <= 0 or not ages:
        yield
        return
    task = asyncio.create_task(_every(db, settings, audit))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _every(db: Database, settings: Settings, audit: AuditLog) -> None:
    while True:
        try:
            report = await run_retention(
                db, settings, audit, dry_run=False, actor="retention", source="schedule"
            )
            log.info("retention applied: %s", report.counts())
        except Exception:
            log.exception("retention run failed; next attempt at the next interval")
        await asyncio.sleep(settings.retention_interval_minutes * 60)
