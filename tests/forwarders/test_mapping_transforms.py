"""Every transform and every data type of a mapping template, on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from forwarders.mapping.datatypes import DATA_TYPES, CoercionError, coerce
from forwarders.mapping.transforms import Transform, TransformError, apply, parse_transform

TABLES = {
    "skills": {"act-1": ("safety", "first aid"), "act-2": ("forklift",)},
    "status": {"passed": ("certified",)},
}


def run(transform: str, value):
    return apply(parse_transform(transform), value, TABLES)


# -- transforms ---------------------------------------------------------------------------


def test_lowercase_email_strips_mailto_and_space_and_lowercases():
    assert run("lowercase_email", "  mailto:Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert run("lowercase_email", "MAILTO:B@X.org") == "b@x.org"
    assert run("lowercase_email", ["A@X.org", "mailto:B@X.org"]) == ["a@x.org", "b@x.org"]
    with pytest.raises(TransformError, match="string"):
        run("lowercase_email", 42)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ({"scaled": 0.875}, 87.5),
        ({"scaled": 0.875, "raw": 1, "max": 100}, 87.5),  # scaled wins
        ({"raw": 45, "min": 0, "max": 50}, 90.0),
        ({"raw": 45, "max": 50}, 90.0),  # min defaults to 0
        ({"raw": 7, "min": 5, "max": 10}, 40.0),
        ({"raw": 2, "min": 0, "max": 3}, 66.67),
        ({"scaled": -0.5}, 0.0),  # a negative score counts as 0
        (0.5, 50.0),  # a bare number is a scaled score
        (1, 100.0),
    ],
)
def test_normalize_score_0_100(score, expected):
    assert run("normalize_score_0_100", score) == expected


@pytest.mark.parametrize(
    "score", [{"raw": 45}, {"raw": 5, "min": 10, "max": 10}, {"raw": "9", "max": 10}, 87, "0.5"]
)
def test_normalize_score_refuses_what_it_cannot_place_on_0_100(score):
    with pytest.raises(TransformError):
        run("normalize_score_0_100", score)


def test_parse_iso8601_gives_the_instant_in_utc():
    parsed = run("parse_iso8601", "2024-05-01T23:30:00-02:00")
    assert parsed == datetime(2024, 5, 2, 1, 30, tzinfo=UTC) and parsed.tzinfo == UTC
    assert run("parse_iso8601", "2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(TransformError, match="ISO 8601"):
        run("parse_iso8601", "yesterday")


def test_iso_date_is_the_day_in_utc():
    assert run("iso_date", "2024-05-01T23:30:00-02:00") == "2024-05-02"
    assert run("iso_date", "2024-05-01") == "2024-05-01"
    assert run("iso_date", datetime(2024, 1, 1, 23, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2024-01-02"
    )
    with pytest.raises(TransformError):
        run("iso_date", "2024-13-01")


def test_constant_ignores_the_source():
    assert run("constant:course_completion", None) == "course_completion"
    assert run("constant:a:b", "x") == "a:b"  # everything after the first colon
    with pytest.raises(ValueError, match="constant"):
        parse_transform("constant:")


def test_lookup_gives_one_value_several_values_or_none():
    assert run("lookup:skills", "act-2") == "forklift"
    assert run("lookup:skills", "act-1") == ["safety", "first aid"]
    assert run("lookup:skills", "act-9") is None
    assert run("lookup:skills", ["act-1", "act-2", "act-9"]) == ["safety", "first aid", "forklift"]
    assert run("lookup:status", "passed") == "certified"


def test_the_string_helpers_and_no_transform():
    assert run("lowercase", "AbC") == "abc"
    assert run("uppercase", "AbC") == "ABC"
    assert run("trim", "  x ") == "x"
    assert apply(None, {"kept": 1}, TABLES) == {"kept": 1}
    assert run("lowercase", None) is None  # absent stays absent


@pytest.mark.parametrize("text", ["lowercase_emails", "lookup", "lookup:", "iso_date:x", "upper"])
def test_unknown_transforms_are_refused(text):
    with pytest.raises(ValueError, match="unknown transform"):
        parse_transform(text)


def test_parsed_transforms_print_as_written():
    assert str(parse_transform(" lookup: skills ")) == "lookup:skills"
    assert parse_transform("") is None
    assert parse_transform("iso_date") == Transform("iso_date")


# -- data types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_type", "value", "expected"),
    [
        ("string", "x", "x"),
        ("string", 42, "42"),
        ("string", True, "true"),
        ("integer", 42, 42),
        ("integer", 42.0, 42),
        ("integer", " -7 ", -7),
        ("number", 4.5, 4.5),
        ("number", "4.5", 4.5),
        ("number", "12", 12),
        ("number", 3, 3),
        ("boolean", True, True),
        ("boolean", "Yes", True),
        ("boolean", "FALSE", False),
        ("boolean", 0, False),
        ("date", "2024-05-01", "2024-05-01"),
        ("date", "2024-05-01T23:30:00-02:00", "2024-05-02"),
        ("date", date(2024, 5, 1), "2024-05-01"),
        ("datetime", "2024-05-01T23:30:00.250-02:00", "2024-05-02T01:30:00.250000Z"),
        ("datetime", datetime(2024, 5, 1, 12, tzinfo=UTC), "2024-05-01T12:00:00Z"),
        ("email", " mailto:Ann@Example.com", "Ann@Example.com"),
        ("email", "b@x.org", "b@x.org"),
    ],
)
def test_values_are_coerced_to_their_data_type(data_type, value, expected):
    coerced = coerce(data_type, value)
    assert coerced == expected and type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("string", {"en-US": "x"}),
        ("string", ["x"]),
        ("integer", 4.2),
        ("integer", "4.2"),
        ("integer", True),
        ("number", "ten"),
        ("number", "nan"),
        ("number", False),
        ("boolean", "maybe"),
        ("boolean", 2),
        ("date", "01/05/2024"),
        ("date", "2024-02-30"),
        ("datetime", "2024-05-01"),
        ("datetime", 1714557600),
        ("email", "not an address"),
        ("email", "a@b"),
        ("email", 7),
    ],
)
def test_values_that_cannot_be_coerced_are_refused(data_type, value):
    with pytest.raises(CoercionError):
        coerce(data_type, value)


def test_the_data_types():
    assert DATA_TYPES == ("string", "integer", "number", "boolean", "date", "datetime", "email")
