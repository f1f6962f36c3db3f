"""People and identifier keys (pure): email normalisation, actor keys, and reading HRIS files
in CSV and JSON Lines with an error per bad row, named by line and field."""

from __future__ import annotations

import hashlib

import pytest

from forwarders.errors import InvalidImport
from forwarders.identity.import_file import parse_people
from forwarders.identity.person import (
    Person,
    account_key,
    actor_keys,
    normalise_email,
    normalise_home_page,
    parse_alias_domains,
)

CORP = frozenset({"corp.com"})


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def test_emails_are_compared_trimmed_lowercased_and_without_mailto():
    assert normalise_email("  Ada.Lovelace@Corp.COM ") == "ada.lovelace@corp.com"
    assert normalise_email("MAILTO:ada@corp.com") == "ada@corp.com"


def test_plus_aliases_are_stripped_only_for_the_configured_domains():
    assert normalise_email("ada+lms@corp.com", CORP) == "ada@corp.com"
    assert normalise_email("Ada+LMS@Corp.com", CORP) == "ada@corp.com"
    assert normalise_email("ada+lms@other.com", CORP) == "ada+lms@other.com"
    assert normalise_email("ada+lms@corp.com") == "ada+lms@corp.com"


@pytest.mark.parametrize(
    "bad", ["", "ada", "ada@", "@corp.com", "ada@corp", "a b@corp.com", "a@b@c.com"]
)
def test_what_is_not_an_email_is_refused(bad):
    with pytest.raises(ValueError):
        normalise_email(bad)


def test_alias_domains_setting_is_a_comma_separated_list():
    assert parse_alias_domains(" Corp.com, @example.org ,,") == {"corp.com", "example.org"}
    assert parse_alias_domains("") == frozenset()


def test_home_pages_agree_whatever_the_case_of_scheme_and_host_or_a_bare_slash():
    assert normalise_home_page(" HTTPS://LMS.Example.com/ ") == "https://lms.example.com"
    assert normalise_home_page("https://lms.example.com/Path") == "https://lms.example.com/Path"
    with pytest.raises(ValueError):
        normalise_home_page("lms.example.com")


def test_a_person_has_mbox_and_sha1_keys_for_every_email_and_a_key_per_account():
    person = Person(
        "E1",
        "ada@corp.com",
        ("ada.l@corp.com",),
        (("https://lms.example.com", "ada"), ("https://crm.example.com", "A-17")),
    )
    assert person.keys() == (
        "mbox:ada@corp.com",
        "sha1:" + sha1("mailto:ada@corp.com"),
        "mbox:ada.l@corp.com",
        "sha1:" + sha1("mailto:ada.l@corp.com"),
        'account:["https://lms.example.com","ada"]',
        'account:["https://crm.example.com","A-17"]',
    )


def test_an_actor_has_the_key_of_its_identifier_normalised_like_a_person_s():
    assert actor_keys({"mbox": "mailto:Ada+x@CORP.com"}, CORP) == ("mbox:ada@corp.com",)
    digest = sha1("mailto:ada@corp.com")
    assert actor_keys({"mbox_sha1sum": digest.upper()}) == ("sha1:" + digest,)
    account = {"homePage": "https://LMS.example.com/", "name": "ada"}
    assert actor_keys({"account": account}) == (account_key("https://lms.example.com", "ada"),)
    assert actor_keys({"openid": "https://id.example.com/ada"}) == (
        "openid:https://id.example.com/ada",
    )


def test_malformed_or_hostile_identifiers_give_no_key_and_keys_stay_opaque_strings():
    assert actor_keys({"mbox": "mailto:not-an-email"}) == ()
    assert actor_keys({"mbox_sha1sum": {"$ne": None}}) == ()
    assert actor_keys({"account": {"homePage": "https://x.com", "name": {"$gt": ""}}}) == ()
    assert actor_keys("not an actor") == ()
    # a name with the separator characters cannot forge another account's key
    forged = account_key("https://a.com", 'b","c')
    assert forged != account_key('https://a.com","b', "c")


# -- files ----------------------------------------------------------------------------------

CSV = """employee_id,email,other_emails,accounts,manager_id,department,job_code,status
E1, Ada@Corp.com ,ada.l@corp.com;ADA+old@corp.com,https://lms.example.com|ada;https://crm.example.com|A-17,E9,R&D,ENG2,Active
E2,bob@corp.com,,,E1,,,terminated
"""


def test_a_csv_file_gives_one_normalised_person_per_row():
    parsed = parse_people(CSV, "csv", CORP)
    assert parsed.errors == []
    [ada, bob] = [row.person for row in parsed.rows]
    assert [row.line for row in parsed.rows] == [2, 3]
    assert ada == Person(
        "E1",
        "ada@corp.com",
        ("ada.l@corp.com",),  # the alias of the primary email is the primary email
        (("https://lms.example.com", "ada"), ("https://crm.example.com", "A-17")),
        manager_id="E9",
        department="R&D",
        job_code="ENG2",
        status="active",
    )
    assert bob.terminated and not ada.terminated
    assert bob.emails == () and bob.accounts == ()


def test_a_json_lines_file_gives_the_same_people():
    jsonl = "\n".join(
        [
            '{"employee_id": "E1", "email": " Ada@Corp.com ", "other_emails": ["ada.l@corp.com",'
            ' "ADA+old@corp.com"], "accounts": [{"home_page": "https://lms.example.com",'
            ' "name": "ada"}, {"home_page": "https://crm.example.com", "name": "A-17"}],'
            ' "manager_id": "E9", "department": "R&D", "job_code": "ENG2", "status": "Active"}',
            "",
            '{"employee_id": 2, "email": "bob@corp.com", "manager_id": "E1",'
            ' "status": "terminated"}',
        ]
    )
    parsed = parse_people(jsonl, "jsonl", CORP)
    assert parsed.errors == []
    from_csv = [row.person for row in parse_people(CSV, "csv", CORP).rows]
    people = [row.person for row in parsed.rows]
    assert people[0] == from_csv[0]
    assert people[1].employee_id == "2" and people[1].terminated
    assert [row.line for row in parsed.rows] == [1, 3]


def test_bad_rows_are_reported_by_line_and_field_and_the_good_ones_kept():
    text = (
        "employee_id,email,accounts,status\n"
        "E1,ada@corp.com,,\n"
        ",nobody@corp.com,,\n"
        "E3,not-an-email,lms-without-bar,\n"
        "E4,dan@corp.com,ftp://x.com|dan,\n"
        "E1,ada2@corp.com,,\n"
        "E5,eve@corp.com,,,extra\n"
    )
    parsed = parse_people(text, "csv")
    assert [row.person.employee_id for row in parsed.rows] == ["E1"]
    errors = [(e.line, e.field) for e in parsed.errors]
    assert errors == [
        (3, "employee_id"),
        (4, "email"),
        (4, "accounts"),
        (5, "accounts"),
        (6, "employee_id"),
        (7, "row"),
    ]
    assert "first on line 2" in parsed.errors[4].message
    assert "'not-an-email'" in parsed.errors[1].message


def test_bad_json_lines_are_reported_by_line():
    text = '{"employee_id": "E1"}\nnot json\n[1]\n{"employee_id": "E2", "emial": "x@y.com"}\n'
    text += '{"employee_id": "E3", "other_emails": "a@b.com"}\n'
    text += '{"employee_id": "E4", "accounts": [{"name": "x"}]}\n'
    parsed = parse_people(text, "jsonl")
    assert [row.person.employee_id for row in parsed.rows] == ["E1"]
    assert [(e.line, e.field) for e in parsed.errors] == [
        (2, "row"),
        (3, "row"),
        (4, "emial"),
        (5, "other_emails"),
        (6, "accounts"),
    ]


def test_quoted_csv_cells_spanning_lines_keep_the_line_numbers_right():
    text = 'employee_id,department\nE1,"Research\nand Development"\nE2,\n,x\n'
    parsed = parse_people(text, "csv")
    assert [(r.line, r.person.department) for r in parsed.rows] == [
        (2, "Research\nand Development"),
        (4, None),
    ]
    assert [(e.line, e.field) for e in parsed.errors] == [(5, "employee_id")]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("email,department\nada@corp.com,x\n", "header"),
        ("employee_id,emial\nE1,x\n", "header"),
        ("employee_id,email,EMAIL\nE1,a@b.com,a@b.com\n", "header"),
        (b"employee_id\n\xff\xfe\n", "file"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused(text, field):
    with pytest.raises(InvalidImport) as caught:
        parse_people(text, "csv")
    assert caught.value.field == field


def test_a_byte_order_mark_and_a_row_bound():
    assert parse_people(b"\xef\xbb\xbfemployee_id\nE1\n", "csv").rows[0].person.employee_id == "E1"
    with pytest.raises(InvalidImport, match="more than 2 rows"):
        parse_people("employee_id\nE1\nE2\nE3\n", "csv", max_rows=2)
