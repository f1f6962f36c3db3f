"""Export job records: a running job whose process stopped heartbeating reads interrupted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exports.jobs import STALE_SECONDS, ExportJobStore
from exports.run import Progress


async def test_a_running_job_without_a_heartbeat_reads_interrupted(services):
    db = services.client[services.settings.database]
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    clock = [now]
    store = ExportJobStore(db, clock=lambda: clock[0])
    job = await store.create({"format": "csv"}, "ops")
    clock[0] = now + timedelta(seconds=STALE_SECONDS - 1)
    assert (await store.get(job.id)).state == "running"
    await store.beat(job.id, Progress(rows=10))
    clock[0] += timedelta(seconds=STALE_SECONDS - 1)
    assert (await store.get(job.id)).state == "running"
    clock[0] += timedelta(seconds=2)
    stale = await store.get(job.id)
    assert stale.state == "interrupted" and stale.progress["rows"] == 10


async def test_finished_and_failed_jobs_keep_their_state_however_old(services):
    db = services.client[services.settings.database]
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    clock = [now]
    store = ExportJobStore(db, clock=lambda: clock[0])
    done = await store.create({"format": "csv"}, "ops")
    await store.finish(done.id, Progress(rows=3), {"rows": 3})
    clock[0] += timedelta(seconds=1)
    failed = await store.create({"format": "csv"}, "ops")
    await store.fail(failed.id, "disk full")
    clock[0] += timedelta(days=1)
    assert (await store.get(done.id)).state == "done"
    assert (await store.get(failed.id)).error == "disk full"
    assert [j.id for j in await store.list()] == [failed.id, done.id]
