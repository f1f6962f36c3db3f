from datetime import UTC, datetime, timedelta, timezone

import pytest

from statements.formats import (
    is_duration,
    is_iri,
    is_irl,
    is_language_tag,
    is_mailto_iri,
    is_mime_type,
    is_sha1_hex,
    is_sha2_hex,
    is_statement_version,
    is_uri,
    is_uuid,
    parse_timestamp,
)


@pytest.mark.parametrize(
    "value",
    [
        "http://adlnet.gov/expapi/verbs/completed",
        "https://example.com/a.b?x=1&y=2#frag",
        "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "tag:example.com,2024:x",
        "mailto:someone@example.com",
        "http://example.com/%C3%BC",
        "http://example.com/über/straße",
    ],
)
def test_iri_accepts_absolute_iris(value):
    assert is_iri(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "/relative/path",
        "#fragment",
        "ab=c://should.fail.com",
        "1http://example.com",
        "http:",
        "http://example.com/a b",
        "http://example.com/a\tb",
        "http://example.com/<x>",
        "http://example.com/%zz",
        "http://example.com/a#b#c",
        'http://example.com/"q"',
    ],
)
def test_iri_rejects_values_without_scheme_or_with_forbidden_characters(value):
    assert not is_iri(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://www.example.com", True),
        ("https://example.com/xAPI/OAuth/Token", True),
        ("file:///tmp/x.txt", True),
        ("urn:example:thing", False),
        ("mailto:a@example.com", False),
        ("http://", False),
        ("ab=c://should.fail.com", False),
    ],
)
def test_irl_requires_a_locator(value, expected):
    assert is_irl(value) is expected


def test_uri_must_be_ascii():
    assert is_uri("http://openid.example.org/12345")
    assert not is_uri("http://openid.example.org/über")
    assert not is_uri("ab=c://should.fail.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mailto:xapi@adlnet.gov", True),
        ("mailto:first.last+tag@sub.example.co.uk", True),
        ("mailto:admin@localhost", True),
        ("mailto:should.fail.com", False),
        ("http://should.fail.com", False),
        ("xapi@adlnet.gov", False),
        ("mailto:", False),
        ("mailto:a@", False),
        ("mailto:@example.com", False),
        ("mailto:a b@example.com", False),
        ("mailto:a@b@example.com", False),
        ("MAILTO:a@example.com", False),
    ],
)
def test_mailto_iri(value, expected):
    assert is_mailto_iri(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fd41c918-b88b-4b20-a0a5-a4c32391aaa0", True),
        ("AA97B177-9383-4934-8543-0F91A7A02836", True),
        ("01890a5d-ac96-774b-bcce-b302099a8057", True),
        ("AA97B177-9383-4934-8543-0F91A7A028368", False),
        ("MA97B177-9383-4934-8543-0F91A7A02836", False),
        ("fd41c918b88b4b20a0a5a4c32391aaa0", False),
        ("{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}", False),
        ("", False),
    ],
)
def test_uuid_standard_string_form(value, expected):
    assert is_uuid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cd9b00a5611f94eaa7b1661edab976068e364975", True),
        ("CD9B00A5611F94EAA7B1661EDAB976068E364975", True),
        ("cd9b00a5611f94eaa7b1661edab976068e36497", False),
        ("cd9b00a5611f94eaa7b1661edab976068e36497g", False),
    ],
)
def test_sha1_hex(value, expected):
    assert is_sha1_hex(value) is expected


@pytest.mark.parametrize("length", [56, 64, 96, 128])
def test_sha2_hex_accepts_each_sha2_digest_length(length):
    assert is_sha2_hex("a" * length)


@pytest.mark.parametrize("value", ["should fail", "a" * 40, "a" * 63, "g" * 64, ""])
def test_sha2_hex_rejects_other_strings(value):
    assert not is_sha2_hex(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/plain", True),
        ("text/plain; charset=ascii", True),
        ("application/octet-stream", True),
        ('multipart/mixed; boundary="a b c"', True),
        ("application/vnd.api+json", True),
        ("text", False),
        ("text/", False),
        ("text/plain;", False),
        ("text plain", False),
        ("", False),
        # a media type is echoed in headers: nothing a header could not carry
        ('text/plain; a="b\r\nX-Injected: yes"', False),
        ('text/plain; a="\x01"', False),
        ('text/plain; a="caf\u00e9"', False),
        ('text/plain; a="b\\\nc"', False),
        ("text/plain\r\nX-Injected: yes", False),
        ('text/plain; a="b\\"c; d"', True),
    ],
)
def test_mime_type(value, expected):
    assert is_mime_type(value) is expected


@pytest.mark.parametrize(
    "value",
    [
        "en",
        "de",
        "en-US",
        "en-GB",
        "de-DE",
        "es-419",
        "zh-Hant",
        "sr-Latn-RS",
        "cmn",
        "tlh",
        "zh-yue-HK",
        "de-CH-1901",
        "en-US-x-twain",
        "x-klingon",
        "i-klingon",
        "EN-us",
    ],
)
def test_language_tag_accepts_well_formed_rfc5646_tags(value):
    assert is_language_tag(value)


@pytest.mark.parametrize(
    "value", ["", "a12345678", "a12345", "something", "e", "en--US", "en-", "en_US", "12", "en-US-"]
)
def test_language_tag_rejects_wrong_subtag_lengths(value):
    assert not is_language_tag(value)


@pytest.mark.parametrize(
    "value",
    [
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1H0M0.1S",
        "P1D",
        "PT0S",
        "P0.5Y",
        "PT1,5S",
        "PT0.123456S",
    ],
)
def test_duration_accepts_iso8601_durations(value):
    assert is_duration(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "PA1H0M0S",
        "should fail",
        "P4W1D",
        "P1.5Y2M",
        "P0003-02-01T00:00:00",
        "PT1H-5M",
        "1H",
        "pt1h",
        "P1M1Y",
    ],
)
def test_duration_rejects_other_formats(value):
    assert not is_duration(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-11-18T12:17:00Z", datetime(2015, 11, 18, 12, 17, tzinfo=UTC)),
        ("2008-09-15T15:53:00.601+00:00", datetime(2008, 9, 15, 15, 53, 0, 601000, tzinfo=UTC)),
        (
            "2023-05-04T12:00:00-05:00",
            datetime(2023, 5, 4, 12, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            "2023-05-04T12:00:00+0530",
            datetime(2023, 5, 4, 12, tzinfo=timezone(timedelta(hours=5.5))),
        ),
        ("2023-05-04T12:00:00+05", datetime(2023, 5, 4, 12, tzinfo=timezone(timedelta(hours=5)))),
        ("2023-05-04T12:00:00.123456789Z", datetime(2023, 5, 4, 12, 0, 0, 123456, tzinfo=UTC)),
        ("20150101T120000Z", datetime(2015, 1, 1, 12, tzinfo=UTC)),
        ("2015-01-01T12:00Z", datetime(2015, 1, 1, 12, tzinfo=UTC)),
        ("2015-01-01T12:00:00", datetime(2015, 1, 1, 12, tzinfo=UTC)),
        ("2015-01-01t12:00:00z", datetime(2015, 1, 1, 12, tzinfo=UTC)),
        ("2015-12-31T23:59:60Z", datetime(2016, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_returns_aware_datetimes(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "should fail",
        "01/011/2015",
        "2015-01-01",
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
        "2015-02-30T00:00:00Z",
        "2015-13-01T00:00:00Z",
        "2015-01-01T24:00:00Z",
        "2015-01-01T12:60:00Z",
        "2015-01-01T12:00:00+24:00",
        "2015-01-01T12:00:00+23:99",
        "0000-01-01T00:00:00Z",
        "2015-W01-1T00:00:00Z",
        "July 04, 1776 16:00:45",
    ],
)
def test_parse_timestamp_rejects_invalid_timestamps(value):
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        ("1.0", "1.0.3", True),
        ("1.0.0", "1.0.3", True),
        ("1.0.9", "1.0.3", True),
        ("1.0.3-beta+build.1", "1.0.3", True),
        ("2.0.0", "1.0.3", False),
        ("1.1.0", "1.0.3", False),
        ("0.9.9", "1.0.3", False),
        ("1.0.", "1.0.3", False),
        ("2.0.0", "2.0.0", True),
        ("2.0", "2.0.0", True),
        ("1.0.9", "2.0.0", True),
        ("1.0", "2.0.0", True),
        ("2.1.0", "2.0.0", False),
        ("1.1.0", "2.0.0", False),
        ("should fail", "2.0.0", False),
    ],
)
def test_statement_version(value, spec, expected):
    assert is_statement_version(value, spec) is expected
