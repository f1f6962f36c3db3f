"""Export jobs over HTTP (/admin/exports; scope `admin`): start, progress, list, download
with Content-Length and byte ranges."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import uuid

import orjson
import pytest

from exports.manifest import MANIFEST


@pytest.fixture
async def admin(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def finished(client, admin, job_id):
    """The job once it has ended (the test's timeout bounds the wait)."""
    while True:
        job = (await client.get(f"/admin/exports/{job_id}", headers=admin)).json()
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.01)


async def seed(client, make_statement, count=12):
    statements = [make_statement(id=str(uuid.uuid4())) for _ in range(count)]
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200
    return response.json()


async def test_a_job_runs_to_a_manifest_and_its_files_download_whole(client, admin, make_statement):
    ids = await seed(client, make_statement)
    started = await client.post(
        "/admin/exports",
        json={"format": "ndjson", "settle_seconds": 0, "max_file_bytes": 4096},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running"
    job = await finished(client, admin, started.json()["id"])
    assert job["state"] == "done", job
    assert job["progress"]["rows"] == 12 and job["manifest"]["rows"] == 12

    exported = []
    for entry in job["manifest"]["files"]:
        response = await client.get(job["links"]["files"][entry["name"]], headers=admin)
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == entry["bytes"]
        assert response.headers["accept-ranges"] == "bytes"
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        exported += [
            orjson.loads(line)["id"] for line in gzip.decompress(response.content).splitlines()
        ]
    assert exported == ids
    manifest = await client.get(job["links"]["files"][MANIFEST], headers=admin)
    assert manifest.json()["cursor"] == job["manifest"]["cursor"]

    listed = await client.get("/admin/exports", headers=admin)
    assert [j["id"] for j in listed.json()["exports"]] == [job["id"]]


async def test_a_download_resumes_with_byte_ranges(client, admin, make_statement):
    await seed(client, make_statement, 30)
    started = await client.post(
        "/admin/exports", json={"format": "csv", "settle_seconds": 0}, headers=admin
    )
    job = await finished(client, admin, started.json()["id"])
    [entry] = job["manifest"]["files"]
    url = job["links"]["files"][entry["name"]]
    head = await client.get(url, headers={**admin, "Range": "bytes=0-99"})
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-99/{entry['bytes']}"
    rest = await client.get(url, headers={**admin, "Range": "bytes=100-"})
    assert rest.status_code == 206
    whole = head.content + rest.content
    assert len(whole) == entry["bytes"]
    assert hashlib.sha256(whole).hexdigest() == entry["sha256"]


async def test_exports_need_the_admin_scope(client, make_credentials):
    everything_xapi = await make_credentials(("all",))
    body = {"format": "ndjson"}
    assert (
        await client.post("/admin/exports", json=body, headers=everything_xapi)
    ).status_code == 403
    assert (await client.get("/admin/exports", headers=everything_xapi)).status_code == 403
    anonymous = {"Authorization": ""}
    assert (await client.post("/admin/exports", json=body, headers=anonymous)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "format"),
        ({"format": "xlsx"}, "format"),
        ({"format": "csv", "colour": "red"}, "colour"),
        ({"format": "csv", "include_voided": "yes"}, "include_voided"),
        ({"format": "csv", "columns": "id"}, "columns"),
        ({"format": "csv", "columns": ["id", "password"]}, "columns"),
        ({"format": "csv", "filters": "verb=not-an-iri"}, "verb"),
        ({"format": "csv", "max_file_bytes": True}, "max_file_bytes"),
        ({"format": "csv", "after": "x"}, "after"),
    ],
)
async def test_a_bad_request_is_a_400_naming_the_field(client, admin, body, field):
    response = await client.post("/admin/exports", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert field in response.text


async def test_unknown_jobs_and_unlisted_files_are_404(client, admin, make_statement):
    assert (await client.get("/admin/exports/nope", headers=admin)).status_code == 404
    await seed(client, make_statement, 2)
    started = await client.post(
        "/admin/exports", json={"format": "ndjson", "settle_seconds": 0}, headers=admin
    )
    job = await finished(client, admin, started.json()["id"])
    base = job["links"]["self"]
    for name in ("secrets.txt", "..%2F..%2Fdb.uri", "part-99999.ndjson.gz"):
        assert (await client.get(f"{base}/files/{name}", headers=admin)).status_code == 404


async def test_starting_an_export_is_audited(client, admin, services):
    started = await client.post(
        "/admin/exports", json={"format": "parquet", "settle_seconds": 0}, headers=admin
    )
    job = await finished(client, admin, started.json()["id"])
    assert job["state"] == "done" and job["manifest"]["rows"] == 0
    entries = await services.audit.list(action="export.start")
    assert [e.target for e in entries] == [job["id"]]
