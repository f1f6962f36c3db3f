"""A column of cells formatted whole is the column formatted a cell at a time."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from exports.columns import cell, cells_of

FINITE = st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
NESTED = st.recursive(
    st.none() | st.booleans() | FINITE | st.text(alphabet="=-a,", max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=6,
)


@given(
    st.one_of(
        st.lists(st.one_of(st.none(), st.text(alphabet="=+-@\t\r\x00a1.", max_size=3))),
        st.lists(st.one_of(st.none(), st.integers(-(1 << 70), 1 << 70), FINITE)),
        st.lists(st.one_of(st.none(), st.booleans())),
        st.lists(NESTED),
    )
)
def test_a_column_formatted_whole_has_the_cells_formatted_one_by_one(values: list[Any]) -> None:
    assert cells_of(values) == [cell(value) for value in values]
