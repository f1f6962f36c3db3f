"""One JSON decoder for input: valid JSON within the nesting limit, or a named rule."""

from __future__ import annotations

import orjson
import pytest

from statements.json_input import MAX_DEPTH, JSONInputError, decode_json, nesting_exceeds


def arrays(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_json_at_the_limit_decodes():
    assert nesting_exceeds(decode_json(arrays(MAX_DEPTH)), MAX_DEPTH) is False


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 2000])
def test_json_nested_past_the_limit_is_refused_as_json_depth(levels):
    with pytest.raises(JSONInputError) as caught:
        decode_json(arrays(levels))
    assert caught.value.rule == "json.depth"


def test_objects_and_arrays_both_count_as_levels():
    value = orjson.loads('{"a":' * 40 + "[" * 30 + "]" * 30 + "}" * 40)
    assert nesting_exceeds(value, 70) is False
    assert nesting_exceeds(value, 69) is True


def test_scalars_and_wide_values_are_not_deep():
    assert nesting_exceeds(7, 1) is False
    assert nesting_exceeds([[1]] * 10_000, 2) is False


def test_invalid_json_is_refused_as_json_syntax():
    with pytest.raises(JSONInputError) as caught:
        decode_json(b"{not json")
    assert caught.value.rule == "json.syntax"
