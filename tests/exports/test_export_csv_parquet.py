"""CSV (column picker, spreadsheet-safe, HRIS employee id) and Parquet (read back with
DuckDB and pyarrow)."""

from __future__ import annotations

import csv
import gzip
import uuid
from datetime import datetime

import duckdb
import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from exports.columns import Walk
from exports.parquet_schema import SCHEMA, record_batch
from exports.verify import verify_export
from tests.exports.conftest import post, read_manifest

PEOPLE = "employee_id,email,status\nE7,ada@example.com,active\n"


def duck(sql, path):
    """A query over export files, the path bound as a parameter."""
    return duckdb.connect().execute(sql, [path]).fetchall()


def csv_rows(directory, manifest):
    rows = []
    for entry in manifest.files:
        with gzip.open(directory / entry.name, "rt", encoding="utf-8", newline="") as text:
            reader = csv.reader(text)
            header = next(reader)
            rows += [dict(zip(header, row, strict=True)) for row in reader]
    return rows


async def test_csv_holds_the_picked_columns_with_canonical_verb_and_employee_id(
    client, make_statement, export, services, tmp_path
):
    await services.identities.import_people(PEOPLE, "csv")
    ada = make_statement(
        id=str(uuid.uuid4()),
        verb={"id": "https://w3id.org/xapi/adl/verbs/completed", "display": {"en": "done"}},
    )
    bob = make_statement(
        id=str(uuid.uuid4()),
        actor={"mbox": "mailto:bob@example.com", "name": '=HYPERLINK("http://x")'},
        result={"score": {"scaled": -0.5}, "response": "line one\nline two"},
    )
    await post(client, [ada, bob])
    columns = ["id", "actor.mbox", "actor.name", "employee_id", "canonical_verb", "verb.id"]
    columns += ["result.score.scaled", "result.response", "stored", "timestamp"]
    manifest = await export("csv", "csv", columns=columns)
    rows = csv_rows(tmp_path / "csv", manifest)
    assert [r["id"] for r in rows] == [ada["id"], bob["id"]]
    assert rows[0]["employee_id"] == "E7" and rows[1]["employee_id"] == ""
    assert rows[0]["canonical_verb"] == "completed"
    assert rows[1]["actor.name"] == '\'=HYPERLINK("http://x")'  # a formula no more
    assert rows[1]["result.score.scaled"] == "-0.5"  # a number stays a number
    assert rows[1]["result.response"] == "line one\nline two"
    assert rows[0]["stored"].endswith("Z") and rows[0]["timestamp"]
    assert read_manifest(tmp_path / "csv")["columns"] == columns
    assert verify_export(tmp_path / "csv").ok  # the quoted newline counts as one row


async def test_parquet_reads_back_with_duckdb_and_pyarrow(
    client, make_statement, export, services, tmp_path
):
    await services.identities.import_people(PEOPLE, "csv")
    ids = []
    for _ in range(4):
        batch = [make_statement(id=str(uuid.uuid4())) for _ in range(10)]
        batch[0]["result"] = {"score": {"scaled": 0.25}, "success": False}
        ids += await post(client, batch)
    manifest = await export("pq", "parquet", max_file_bytes=4096, page_size=16)
    directory = tmp_path / "pq"
    assert len(manifest.files) > 1 and manifest.rows == 40

    table = pq.read_table([str(directory / f.name) for f in manifest.files])
    assert table.schema.equals(SCHEMA)
    assert table.column("id").to_pylist() == ids
    assert set(table.column("employee_id").to_pylist()) == {"E7"}
    assert table.column("canonical_verb").to_pylist()[0] == "completed"
    stored = {}
    for statement_id in ids[:3] + ids[-3:]:
        answer = await client.get("/xapi/statements", params={"statementId": statement_id})
        stored[statement_id] = datetime.fromisoformat(answer.json()["stored"])
    exported = dict(zip(ids, table.column("stored").to_pylist(), strict=True))
    assert {i: exported[i] for i in stored} == stored  # the instant GET answers, to the ms

    glob = str(directory / "*.parquet")
    summary = "select count(*), count(distinct id), min(result_score_scaled) from read_parquet(?)"
    assert duck(summary, glob) == [(40, 40, 0.25)]
    duck_ids = duck("select id from read_parquet(?) order by stored, id", glob)
    assert sorted(i for (i,) in duck_ids) == sorted(ids)
    assert read_manifest(directory)["schema"]["columns"]["stored"] == "timestamp[ms, tz=UTC]"
    assert verify_export(directory).ok


async def test_duckdb_reads_ndjson_and_csv_exports_as_they_are(
    client, make_statement, export, tmp_path
):
    await post(client, [make_statement(id=str(uuid.uuid4())) for _ in range(3)])
    await export("nd")
    await export("cs", "csv")
    nd = duck("select count(*) from read_json_auto(?)", f"{tmp_path / 'nd'}/*.ndjson.gz")
    cs = duck("select count(*) from read_csv_auto(?)", f"{tmp_path / 'cs'}/*.csv.gz")
    assert nd == cs == [(3,)]


async def test_canonical_verb_is_what_ingest_stored_with_the_operator_s_extension(
    app_services, make_credentials, client, make_statement, export, tmp_path
):
    """An operator's alias applies to the column too: the export says what analytics and
    the forwarders counted, not what the packaged default would say."""
    finished = "https://acme.example/verbs/finished"
    auth = await make_credentials(("admin",), name="admin")
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as admin:
        extension = {"version": "acme-1", "aliases": {"completed": [finished]}}
        put = await admin.put("/admin/vocabulary", json=extension, headers=auth)
        assert put.status_code == 200
    statement = make_statement(id=str(uuid.uuid4()), verb={"id": finished})
    await post(client, [statement])

    manifest = await export("csv", "csv", columns=["id", "verb.id", "canonical_verb"])
    (row,) = csv_rows(tmp_path / "csv", manifest)
    assert row["canonical_verb"] == "completed"

    parquet = await export("pq", "parquet")
    (entry,) = parquet.files
    (parquet_row,) = pq.read_table(tmp_path / "pq" / entry.name).to_pylist()
    assert parquet_row["canonical_verb"] == "completed"


async def test_parquet_columns_are_those_of_the_whole_statements(
    client, make_statement, export, services, tmp_path
):
    """Parquet decodes only the fields its columns read: what it writes is what the whole
    statements, parsed, give (statements of several shapes, non-ASCII text, offsets)."""
    await services.identities.import_people(PEOPLE, "csv")
    group = {"objectType": "Group", "name": "Zoë's team", "member": [{"mbox": "mailto:z@é.fr"}]}
    statements = [
        make_statement(id=str(uuid.uuid4()), timestamp="2026-12-04T10:00:00.5+05:30"),
        make_statement(id=str(uuid.uuid4()), actor=group, result={"score": {"raw": 1 << 60}}),
        make_statement(
            id=str(uuid.uuid4()),
            actor={"account": {"homePage": "http://lms.example", "name": "ünïcode 😀"}},
            object={"objectType": "Agent", "mbox": "mailto:b@example.com"},
            result={"duration": "PT1M", "completion": False, "extensions": {"http://x": 1}},
        ),
        make_statement(id=str(uuid.uuid4()), timestamp="2026-12-04T10:00:00.123456Z"),
    ]
    ids = await post(client, statements)
    manifest = await export("pq", "parquet")
    table = pq.read_table(tmp_path / "pq" / manifest.files[0].name)
    assert table.column("id").to_pylist() == ids

    raws = table.column("statement").to_pylist()
    derived = [table.column(n).to_pylist() for n in ("employee_id", "canonical_verb")]
    stored_ms = table.column("stored").cast(pa.int64()).to_pylist()
    whole = record_batch(Walk([orjson.loads(raw) for raw in raws]), raws, stored_ms, *derived)
    assert table.equals(pa.Table.from_batches([whole]))
    assert table.column("employee_id").to_pylist() == ["E7", None, None, "E7"]
    assert table.column("actor_account_name").to_pylist()[2] == "ünïcode 😀"
    assert table.column("result_score_raw").to_pylist()[1] == float(1 << 60)
