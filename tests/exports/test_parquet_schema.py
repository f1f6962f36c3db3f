import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from exports import parquet_schema
from exports.columns import Walk
from exports.parquet_schema import PATHS, SCHEMA, TIMESTAMP, record_batch, timestamp_column
from exports.picker import FieldPicker, Node, paths_tree
from exports.run import ACTOR
from statements.formats import parse_timestamp


def batch_of(statements):
    raws = [orjson.dumps(s).decode() for s in statements]
    nones = [None] * len(statements)
    return record_batch(Walk(statements), raws, [0] * len(statements), nones, nones)


def test_a_value_of_another_json_type_is_null_in_its_column():
    statements = [
        {"actor": {"name": 5}, "result": {"success": "yes", "score": {"raw": True}}},
        {"actor": {"name": "Ann"}, "result": {"success": True, "score": {"raw": 85}}},
    ]
    batch = batch_of(statements)
    assert batch.schema == SCHEMA
    assert batch.column("actor_name").to_pylist() == [None, "Ann"]
    assert batch.column("result_success").to_pylist() == [None, True]
    assert batch.column("result_score_raw").to_pylist() == [None, 85.0]


def test_object_type_is_activity_when_absent_or_empty():
    statements = [
        {"object": {"id": "http://example.com/a"}},
        {"object": {"objectType": "", "id": "http://example.com/b"}},
        {"object": {"objectType": "Agent", "mbox": "mailto:b@example.com"}},
        {"object": {"objectType": "StatementRef", "id": "9e1c1b0e-6c1f-4a55-9d5f-1f6b3f0c2a11"}},
    ]
    kinds = batch_of(statements).column("object_type").to_pylist()
    assert kinds == ["Activity", "Activity", "Agent", "StatementRef"]


# What the Parquet columns read, with values of every JSON type where a column expects one:
# a record batch of picked fields is the record batch of whole parses.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.text(alphabet='aé€😀"\\\n=-', max_size=4),
    st.sampled_from(["2026-12-04T10:00:00.123Z", "2026-12-04T10:00:00+02:00", "", "Agent"]),
)


def shaped(node: Node) -> st.SearchStrategy[Any]:
    """An object with some of the keys the columns read below `node` (each an object of
    the same kind, a list, or any JSON value), and keys no column reads."""
    values = {
        key: shaped(child) | st.lists(LEAVES, max_size=1) | LEAVES if child.children else LEAVES
        for key, child in node.children.items()
    }
    values["other"] = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
    return st.fixed_dictionaries({}, optional=values)


STATEMENTS = shaped(paths_tree([*PATHS, ACTOR]))  # objects only: no inputs filtered out


def picked_batch(raws: list[str]) -> pa.RecordBatch:
    picker = FieldPicker([*PATHS, ACTOR])
    nones = [None] * len(raws)
    return record_batch(picker.walk(picker.decode(raws)), raws, [0] * len(raws), nones, nones)


def whole_batch(raws: list[str]) -> pa.RecordBatch:
    nones = [None] * len(raws)
    parsed = Walk([orjson.loads(raw) for raw in raws])
    return record_batch(parsed, raws, [0] * len(raws), nones, nones)


@settings(max_examples=300)
@given(st.lists(STATEMENTS, max_size=6))
def test_picked_fields_make_the_record_batch_of_whole_statements(statements):
    raws = [json.dumps(statement, ensure_ascii=False) for statement in statements]  # any int
    assert picked_batch(raws).equals(whole_batch(raws))


def test_picked_fields_of_odd_statements_make_the_record_batch_of_whole_statements():
    raws = [
        '{"actor": {"name": "a", "name": "Zoë"}, "result": 1, "result": {"success": true}}',
        '{"actor": "not an object", "result": {"score": 5}, "version": 2}',
        '{"result": {"score": {"raw": 18446744073709551616, "max": -9223372036854775809}}}',
        '{"object": {"objectType": 7}, "timestamp": "2026-02-30T00:00:00Z", "id": null}',
        '{"actor": {"account": {"homePage": "http://é.example", "name": "\\u00e9\\ud83d\\ude00"}}}',
        '{"context": [], "verb": {"id": ["x"]}, "timestamp": 20261204}',
        "{}",
    ]
    picked = picked_batch(raws)
    assert picked.equals(whole_batch(raws))
    assert picked.column("actor_name").to_pylist()[0] == "Zoë"
    assert picked.column("result_success").to_pylist()[:2] == [True, None]
    assert picked.column("result_score_raw").to_pylist()[2] == float(1 << 64)
    assert picked.column("actor_account_name").to_pylist()[4] == "é😀"


def parsed_timestamps(values: list[Any]) -> pa.Array:
    return pa.array([parse_timestamp(v) if type(v) is str else None for v in values], TIMESTAMP)


# ISO 8601 texts in and near the shape Arrow's cast reads: out-of-range fields, year 0,
# fractions of 0 to 9 digits, other separators and offsets (a negative zero among them)
NEAR_UTC = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", "T", "t", " "]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["", "."]).flatmap(
        lambda dot: st.text("0123456789", max_size=9).map(
            lambda digits: dot + digits if dot else ""
        )
    ),
    st.sampled_from(["Z", "Z", "z", "", "+00:00", "-00:00", "+05:30", "-23:59", "Z\n"]),
)


@settings(max_examples=500)
@given(st.lists(NEAR_UTC | st.none() | st.integers(), max_size=4))
def test_timestamps_are_what_parse_timestamp_reads_in_utc(values):
    assert timestamp_column(values).equals(parsed_timestamps(values))


def test_timestamps_in_utc_are_cast_by_arrow_without_a_datetime_each(monkeypatch):
    values = ["2026-12-04T10:00:00Z", "0001-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.9Z"]
    expected = parsed_timestamps(values)
    monkeypatch.setattr(parquet_schema, "parse_timestamp", None)  # the per-value parse
    assert timestamp_column(values).equals(expected)


def test_a_timestamp_arrow_would_misread_goes_the_slow_way():
    values = ["0000-01-01T00:00:00Z", "2026-12-04T10:00:00-00:00", "2026-12-04T10:00:60Z"]
    values.append("2026-12-04T10:00:00Z\n2026-12-04T10:00:00Z")  # two lines of the shape
    assert timestamp_column(values).to_pylist() == [
        None,
        None,
        datetime(2026, 12, 4, 10, 1, tzinfo=UTC),
        None,
    ]
    for value in values:
        column = timestamp_column(["2026-12-04T10:00:00Z", value])
        assert column.equals(parsed_timestamps(["2026-12-04T10:00:00Z", value]))
