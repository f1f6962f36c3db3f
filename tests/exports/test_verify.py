"""`lrs export verify`: every checksum, size and row count, recounted from the files."""

from __future__ import annotations

import gzip
import uuid

import orjson
import pytest

from exports.manifest import MANIFEST
from exports.verify import verify_export
from tests.exports.conftest import post


@pytest.fixture
async def exported(client, make_statement, export, tmp_path):
    await post(client, [make_statement(id=str(uuid.uuid4())) for _ in range(12)])
    await export("x", max_file_bytes=2048)
    return tmp_path / "x"


async def test_an_untouched_export_verifies(exported):
    report = verify_export(exported)
    assert report.ok and report.rows == 12 and report.files >= 2


async def test_a_changed_byte_is_found(exported):
    part = exported / "part-00000.ndjson.gz"
    data = bytearray(part.read_bytes())
    data[-10] ^= 0xFF
    part.write_bytes(bytes(data))
    problems = verify_export(exported).problems
    assert any(p.startswith("part-00000.ndjson.gz: sha256") for p in problems)


async def test_a_file_rewritten_with_fewer_rows_is_found(exported):
    part = exported / "part-00000.ndjson.gz"
    lines = gzip.decompress(part.read_bytes()).splitlines(keepends=True)
    part.write_bytes(gzip.compress(b"".join(lines[:-1])))
    problems = verify_export(exported).problems
    assert f"part-00000.ndjson.gz: rows is {len(lines) - 1}, manifest says {len(lines)}" in problems


async def test_a_missing_file_and_an_extra_file_are_found(exported):
    (exported / "part-00001.ndjson.gz").unlink()
    (exported / "stray.csv").write_text("x")
    problems = verify_export(exported).problems
    assert "part-00001.ndjson.gz: missing" in problems
    assert "stray.csv: not in the manifest" in problems


async def test_a_manifest_whose_total_disagrees_with_its_files_is_refused(exported):
    manifest = orjson.loads((exported / MANIFEST).read_bytes())
    manifest["rows"] += 1
    (exported / MANIFEST).write_bytes(orjson.dumps(manifest))
    assert verify_export(exported).problems == [f"{MANIFEST}: rows is 13, its files hold 12"]


async def test_a_manifest_naming_a_file_outside_the_directory_is_refused(exported):
    manifest = orjson.loads((exported / MANIFEST).read_bytes())
    manifest["files"][0]["name"] = "../../etc/passwd"
    (exported / MANIFEST).write_bytes(orjson.dumps(manifest))
    [problem] = verify_export(exported).problems
    assert "leaves the export directory" in problem


def test_a_directory_without_a_manifest_is_reported(tmp_path):
    [problem] = verify_export(tmp_path).problems
    assert problem.startswith(MANIFEST)
