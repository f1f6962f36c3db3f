"""Pure document rules: ETags, preconditions, PUT/POST plans and the JSON merge
(1.0.3 Communication 2.2 and 3.1, 2.0 4.1.4)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from statements.documents import (
    DocumentContent,
    Preconditions,
    StoredDocument,
    check_preconditions,
    etag_of,
    parse_preconditions,
    plan_post,
    plan_put,
    quoted,
    read_posted,
)
from statements.errors import (
    BadRequest,
    InvalidDocument,
    PreconditionFailed,
    PreconditionRequired,
)

NO_HEADERS = Preconditions()


def stored(content: bytes, content_type: str = "application/json") -> StoredDocument:
    return StoredDocument(content, content_type, etag_of(content), datetime.now(UTC), 1)


def test_etag_is_the_sha1_hex_of_the_exact_bytes_and_is_quoted():
    content = b'{"a": 1}'
    assert etag_of(content) == hashlib.sha1(content, usedforsecurity=False).hexdigest()
    assert (
        quoted(etag_of(content)) == f'"{hashlib.sha1(content, usedforsecurity=False).hexdigest()}"'
    )


def test_absent_headers_give_no_preconditions():
    pre = parse_preconditions(None, None)
    assert pre == Preconditions() and not pre.given


def test_if_match_lists_are_parsed_and_weak_tags_never_match():
    pre = parse_preconditions('"AB", W/"cd" , ef', None)
    assert pre.if_match == frozenset({"ab", "ef"})


def test_if_none_match_compares_weakly_and_keeps_the_star():
    assert parse_preconditions(None, 'W/"ab"').if_none_match == frozenset({"ab"})
    assert parse_preconditions(None, "*").if_none_match == frozenset({"*"})


def test_if_match_with_current_etag_holds():
    current = stored(b"{}")
    check_preconditions(parse_preconditions(quoted(current.etag), None), current)
    check_preconditions(parse_preconditions("*", None), current)


def test_if_match_with_other_etag_fails():
    with pytest.raises(PreconditionFailed):
        check_preconditions(parse_preconditions('"1234"', None), stored(b"{}"))


def test_if_match_on_a_missing_document_fails_even_with_star():
    with pytest.raises(PreconditionFailed, match="does not exist"):
        check_preconditions(parse_preconditions("*", None), None)


def test_if_none_match_star_fails_when_the_document_exists():
    with pytest.raises(PreconditionFailed):
        check_preconditions(parse_preconditions(None, "*"), stored(b"{}"))
    check_preconditions(parse_preconditions(None, "*"), None)


def test_if_none_match_with_a_listed_etag_fails_and_with_another_holds():
    current = stored(b"{}")
    with pytest.raises(PreconditionFailed):
        check_preconditions(parse_preconditions(None, quoted(current.etag)), current)
    check_preconditions(parse_preconditions(None, '"other"'), current)


@pytest.mark.parametrize("kind", ["activity_profile", "agent_profile"])
@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_put_without_headers_to_an_existing_profile_is_409(kind, version):
    with pytest.raises(PreconditionRequired, match="If-Match"):
        plan_put(
            DocumentContent(b"x", "text/plain"),
            NO_HEADERS,
            stored(b"{}"),
            kind=kind,
            version=version,
        )


def test_put_without_headers_to_an_existing_state_is_409_in_2_0_only():
    document = DocumentContent(b"x", "text/plain")
    with pytest.raises(PreconditionRequired):
        plan_put(document, NO_HEADERS, stored(b"{}"), kind="state", version="2.0.0")
    assert plan_put(document, NO_HEADERS, stored(b"{}"), kind="state", version="1.0.3") == document


def test_put_without_headers_creating_a_profile_is_400_in_1_0_3_and_allowed_in_2_0():
    document = DocumentContent(b"x", "text/plain")
    with pytest.raises(BadRequest, match="If-Match or If-None-Match"):
        plan_put(document, NO_HEADERS, None, kind="agent_profile", version="1.0.3")
    assert plan_put(document, NO_HEADERS, None, kind="agent_profile", version="2.0.0") == document


def test_put_with_a_failing_precondition_is_412_before_the_header_rule():
    with pytest.raises(PreconditionFailed):
        plan_put(
            DocumentContent(b"x", "text/plain"),
            parse_preconditions('"nope"', None),
            None,
            kind="agent_profile",
            version="1.0.3",
        )


def test_read_posted_decodes_json_objects_only_for_application_json():
    assert read_posted(b'{"a":1}', "application/json; charset=utf-8").json == {"a": 1}
    assert read_posted(b"[1]", "application/json").json is None
    assert read_posted(b'{"a":1}', "text/plain").json is None


def test_read_posted_without_content_type_is_octet_stream():
    assert read_posted(b"raw", None).content.content_type == "application/octet-stream"


def test_read_posted_refuses_invalid_json_sent_as_json():
    with pytest.raises(InvalidDocument, match="not valid JSON"):
        read_posted(b'{"a":1}{', "application/json")


def test_post_to_a_missing_document_stores_it_as_sent():
    posted = read_posted(b"plain text", "text/plain")
    assert plan_post(posted, NO_HEADERS, None) == posted.content


def test_post_merges_top_level_properties_replacing_whole_values():
    current = stored(b'{"x":"foo","y":"bar","o":{"a":1,"b":2}}')
    posted = read_posted(b'{"x":"bash","z":"faz","o":{"c":3}}', "application/json")
    merged = plan_post(posted, NO_HEADERS, current)
    assert merged.content == b'{"x":"bash","y":"bar","o":{"c":3},"z":"faz"}'
    assert merged.content_type == "application/json"


@pytest.mark.parametrize(
    ("stored_content", "stored_type"),
    [
        (b"not json", "application/octet-stream"),
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
    ],
)
def test_post_json_onto_a_document_that_is_not_a_json_object_is_400(stored_content, stored_type):
    posted = read_posted(b'{"a":1}', "application/json")
    with pytest.raises(InvalidDocument, match="stored document"):
        plan_post(posted, NO_HEADERS, stored(stored_content, stored_type))


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"abc", "text/plain"), (b"[1]", "application/json")]
)
def test_post_of_something_that_is_not_a_json_object_onto_json_is_400(body, content_type):
    with pytest.raises(InvalidDocument, match="posted document"):
        plan_post(read_posted(body, content_type), NO_HEADERS, stored(b'{"a":1}'))


def test_post_checks_preconditions_first():
    with pytest.raises(PreconditionFailed):
        plan_post(
            read_posted(b"{}", "application/json"), parse_preconditions(None, "*"), stored(b"{}")
        )
