"""Integer query parameters: ASCII digits within bounds, else a 400 naming the parameter."""

from __future__ import annotations

import pytest

from statements.errors import InvalidQuery
from statements.int_params import parse_int_param


def parse(raw, *, clamp=False):
    return parse_int_param("limit", raw, default=100, minimum=1, maximum=1000, clamp=clamp)


def test_absent_is_the_default_and_digits_are_the_value():
    assert parse(None) == 100
    assert (parse("1"), parse("0042"), parse("1000")) == (1, 42, 1000)


@pytest.mark.parametrize("raw", ["", "0", "1001", "9" * 5000, "²", "١٢", "-1", "+5", " 7", "1.5"])
def test_anything_else_is_invalid_query_naming_parameter_and_rule(raw):
    with pytest.raises(InvalidQuery) as caught:
        parse(raw)
    assert caught.value.details == {"parameter": "limit", "rule": "integer.range"}
    assert "from 1 to 1000" in caught.value.message


@pytest.mark.parametrize("raw", ["1001", "9" * 5000, "0" * 5000 + "2000"])
def test_a_ceiling_clamps_values_over_the_maximum(raw):
    assert parse(raw, clamp=True) == 1000


def test_leading_zeros_do_not_count_as_size():
    assert parse("0" * 5000 + "7") == 7
