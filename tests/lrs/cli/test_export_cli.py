"""`lrs export` and `lrs export verify` from the command line (in-process `main`)."""

from __future__ import annotations

import asyncio
import gzip
import json
import uuid

import orjson
import pytest

from lrs.app import open_services
from lrs.auth.scopes import Credential
from lrs.cli.main import main
from lrs.ingest import store_statements
from lrs.settings import Settings

WRITER = Credential(
    "k", frozenset({"all"}), {"objectType": "Agent", "mbox": "mailto:writer@example.com"}
)


@pytest.fixture
def lrs_env(mongo_server, monkeypatch, tmp_path):
    name = f"t{uuid.uuid4().hex}"
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", name)
    monkeypatch.setenv("LRS_DATA_DIR", str(tmp_path))
    return Settings(database=name, data_dir=tmp_path), mongo_server.uri


def post(lrs_env, make_statement, count):
    """Store statements through the real ingest path, as the API does."""
    settings, uri = lrs_env
    statements = [make_statement(id=str(uuid.uuid4())) for _ in range(count)]

    async def store():
        services = await open_services(settings, uri)
        try:
            return await store_statements(services, WRITER, "2.0.0", statements)
        finally:
            await services.client.close()

    return asyncio.run(store())


def export(out, *options):
    return main(["export", "--format", "ndjson", "--out", str(out), "--settle", "0", *options])


def test_export_then_verify_then_continue_after_the_previous_directory(
    lrs_env, make_statement, tmp_path, capsys
):
    first_ids = post(lrs_env, make_statement, 5)
    assert export(tmp_path / "one", "--quiet") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 5 and summary["cursor"].startswith("s")

    assert main(["export", "verify", str(tmp_path / "one")]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    second_ids = post(lrs_env, make_statement, 2)
    assert export(tmp_path / "two", "--after", str(tmp_path / "one")) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 2
    with gzip.open(tmp_path / "two" / "part-00000.ndjson.gz") as lines:
        assert [orjson.loads(line)["id"] for line in lines] == second_ids
    assert set(first_ids).isdisjoint(second_ids)


def test_progress_goes_to_stderr(lrs_env, make_statement, tmp_path, capsys):
    post(lrs_env, make_statement, 3)
    assert export(tmp_path / "out") == 0
    assert "exported 3 statements in 1 file(s)" in capsys.readouterr().err


def test_verify_fails_on_a_tampered_file(lrs_env, make_statement, tmp_path, capsys):
    post(lrs_env, make_statement, 3)
    assert export(tmp_path / "out", "--quiet") == 0
    capsys.readouterr()
    (tmp_path / "out" / "part-00000.ndjson.gz").write_bytes(gzip.compress(b"{}\n"))
    assert main(["export", "verify", str(tmp_path / "out")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert "part-00000.ndjson.gz: rows is 1, manifest says 3" in report["problems"]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--query", "limit=3"], "limit"),
        (["--columns", "secret.field"], "secret.field"),
        (["--since", "last tuesday"], "since"),
        (["--after", "nope"], "after"),
    ],
)
def test_bad_options_exit_2_naming_the_option(lrs_env, tmp_path, caplog, options, named):
    assert export(tmp_path / "out", *options) == 2
    assert named in caplog.text


def test_format_and_out_are_required(lrs_env, caplog):
    assert main(["export"]) == 2
    assert "--format and --out" in caplog.text
