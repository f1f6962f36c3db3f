"""Picked fields give the cells a whole parse gives, whatever shape the statement has."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, strategies as st

from exports.columns import Column, Walk, page_cells
from exports.picker import FieldPicker

FINITE = st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
KEYS = ["actor", "mbox", "account", "name", "result", "score", "a.b", "="]
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 70), 1 << 70),
    FINITE,
    st.text(alphabet="=-a,\"é'\n", max_size=4),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=12,
)
STATEMENTS = st.dictionaries(st.sampled_from(KEYS), VALUES)
PATHS = st.lists(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(tuple), min_size=1)


def parsed_cells(raws: list[bytes], columns: list[Column]) -> list[list[str]]:
    return page_cells(Walk([orjson.loads(raw) for raw in raws]), columns, {})


@given(st.lists(STATEMENTS, max_size=5), PATHS)
def test_picked_cells_are_the_cells_of_whole_statements(
    statements: list[dict[str, Any]], paths: list[tuple[str, ...]]
) -> None:
    raws = [json.dumps(statement).encode() for statement in statements]  # any integer
    columns = [Column(".".join(path), path) for path in paths]
    picker = FieldPicker(paths)
    picked = picker.decode([raw.decode() for raw in raws])
    assert page_cells(picker.walk(picked), columns, {}) == parsed_cells(raws, columns)


def test_a_statement_of_unexpected_shape_is_picked_by_the_whole_parse() -> None:
    raw = '{"actor": "not an object", "result": {"score": 1, "x": 12345678901234567890123}}'
    paths = [("actor", "mbox"), ("result", "score", "scaled"), ("result",), ("actor",)]
    columns = [Column("c", path) for path in paths]
    picker = FieldPicker(paths)
    cells = page_cells(picker.walk(picker.decode([raw])), columns, {})
    assert cells == parsed_cells([raw.encode()], columns)
    assert cells == [[""], [""], ['{"score":1,"x":1.2345678901234568e+22}'], ["not an object"]]
