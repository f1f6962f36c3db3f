"""NDJSON exports: what GET /xapi/statements returns, in bounded files, with a manifest."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from exports.verify import verify_export
from statements.errors import BadRequest
from tests.exports.conftest import ndjson_ids, post, read_manifest

VERB_A = "http://adlnet.gov/expapi/verbs/completed"
VERB_B = "http://adlnet.gov/expapi/verbs/attempted"


def statements(make_statement, count, verb=VERB_A):
    return [
        make_statement(id=str(uuid.uuid4()), verb={"id": verb, "display": {"en": "x"}})
        for _ in range(count)
    ]


async def test_export_holds_every_statement_in_stored_order_split_into_bounded_files(
    client, make_statement, export, tmp_path
):
    ids = []
    for _ in range(5):
        ids += await post(client, statements(make_statement, 5))
    manifest = await export("all", max_file_bytes=2048, page_size=7)
    assert ndjson_ids(tmp_path / "all", manifest) == ids
    assert manifest.rows == 25 and len(manifest.files) > 1
    written = read_manifest(tmp_path / "all")
    assert written["rows"] == 25
    assert sum(f["rows"] for f in written["files"]) == 25
    assert [f["name"] for f in written["files"]][:2] == [
        "part-00000.ndjson.gz",
        "part-00001.ndjson.gz",
    ]
    assert set(written["files"][0]) == {"name", "rows", "bytes", "sha256"}
    assert written["cursor"].startswith("s")
    assert verify_export(tmp_path / "all").ok


async def test_filters_give_what_get_statements_gives(client, make_statement, export, tmp_path):
    await post(client, statements(make_statement, 3, VERB_A))
    await post(client, statements(make_statement, 4, VERB_B))
    manifest = await export("b", filters=f"verb={VERB_B}")
    got = await client.get("/xapi/statements", params={"verb": VERB_B, "ascending": "true"})
    assert ndjson_ids(tmp_path / "b", manifest) == [s["id"] for s in got.json()["statements"]]
    assert manifest.rows == 4
    assert read_manifest(tmp_path / "b")["query"]["filters"] == urlencode({"verb": VERB_B})


async def test_voided_statements_are_left_out_and_voiding_statements_kept(
    client, make_statement, export, tmp_path
):
    target, kept = await post(client, statements(make_statement, 2))
    voiding = make_statement(
        id=str(uuid.uuid4()),
        verb={"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en": "voided"}},
        object={"objectType": "StatementRef", "id": target},
        result=None,
    )
    await post(client, [voiding])
    default = await export("default")
    assert ndjson_ids(tmp_path / "default", default) == [kept, voiding["id"]]
    everything = await export("everything", include_voided=True)
    assert ndjson_ids(tmp_path / "everything", everything) == [target, kept, voiding["id"]]
    assert read_manifest(tmp_path / "everything")["query"]["include_voided"] is True


async def test_after_the_cursor_an_export_holds_exactly_what_was_stored_since(
    client, make_statement, export, tmp_path
):
    first_ids = await post(client, statements(make_statement, 6))
    first = await export("first")
    second_ids = await post(client, statements(make_statement, 4))
    second = await export("second", after=first.cursor)
    third = await export("third", after=second.cursor)
    assert ndjson_ids(tmp_path / "first", first) == first_ids
    assert ndjson_ids(tmp_path / "second", second) == second_ids
    assert third.rows == 0 and third.cursor >= second.cursor
    assert read_manifest(tmp_path / "second")["query"]["after"] == first.cursor


async def test_the_export_stops_the_settle_time_behind_now_and_the_next_picks_up(
    client, make_statement, export, tmp_path
):
    ids = await post(client, statements(make_statement, 3))
    recent = await export("recent", settle_seconds=3600)
    assert recent.rows == 0
    later = await export("later", after=recent.cursor)
    assert ndjson_ids(tmp_path / "later", later) == ids


async def test_an_export_refuses_a_directory_that_holds_files(export, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(BadRequest, match="not empty"):
        await export("busy")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"filters": "limit=5"}, "limit"),
        ({"filters": "verb=not an iri"}, "verb"),
        ({"since": "yesterday"}, "since"),
        ({"after": "bogus"}, "after"),
        ({"max_file_bytes": 10}, "max_file_bytes"),
        ({"settle_seconds": -1}, "settle_seconds"),
    ],
)
async def test_bad_options_are_a_400_naming_the_field(export, options, field):
    with pytest.raises(BadRequest) as error:
        await export("bad", **options)
    assert field in str(error.value.details) or field in error.value.message
