"""Bounded form bodies: strict percent-decoding in C, agreeing with the stdlib where it is valid."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, strategies as st

from lrs.http.forms import MAX_FIELDS, decoded_length, percent_decode, split_form
from statements.errors import BadRequest

PIECES = [b"%41", b"%e9", b"%C3%A9", b"%0D%0A", b"%3D", b"%25", b"=", b"+", b"a", b"_", b" "]
PIECES += [b"\r\n", b"\n", b"\t", b"=0A", b"=\r\n", b"\xff", b"%00", b"  \r\n"]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))
def test_valid_escapes_decode_as_the_stdlib_does(raw):
    decoded = percent_decode(raw, "f")
    assert decoded == unquote_to_bytes(raw.replace(b"+", b" "))
    assert len(decoded) == decoded_length(raw)


@pytest.mark.parametrize("raw", [b"%", b"a%4", b"%zz", b"%4g", b"%\r\n41", b"%\n4", b"%%41"])
def test_a_percent_not_followed_by_two_hex_digits_is_refused(raw):
    with pytest.raises(BadRequest) as refused:
        percent_decode(raw, "content")
    assert refused.value.details == {"rule": "form.percent_escape", "field": "content"}


def test_the_large_field_is_set_aside_undecoded():
    form = split_form(b"a=1&content=%zz&b=caf%C3%A9&&c", "content")
    assert form.fields == [("a", "1"), ("b", "café"), ("c", "")]
    assert form.large == b"%zz"


def test_the_field_count_is_bounded():
    split_form(b"a&" * (MAX_FIELDS - 1), "content")
    with pytest.raises(BadRequest, match="more than 64 fields"):
        split_form(b"a&" * MAX_FIELDS, "content")
