"""The Person object of the Agents Resource (1.0.3 Communication 2.4, 2.0 4.1.6.3)."""

from __future__ import annotations

from statements.person import person_of

ADA = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}


def test_unknown_agent_gives_a_person_of_that_agent_only():
    assert person_of({**ADA, "name": "Ada"}, []) == {
        "objectType": "Person",
        "name": ["Ada"],
        "mbox": ["mailto:ada@example.com"],
    }


def test_names_are_gathered_from_actors_objects_and_group_members_once_each():
    statements = [
        {"actor": {**ADA, "name": "Ada L."}, "object": {"id": "http://e.com/a"}},
        {
            "actor": {"mbox": "mailto:bob@example.com", "name": "Bob"},
            "object": {**ADA, "name": "Ada"},
        },
        {
            "actor": {
                "objectType": "Group",
                "name": "Team",
                "member": [{"mbox": "mailto:ada@EXAMPLE.com", "name": "Ada Lovelace"}, "junk"],
            },
            "object": "junk",
        },
    ]
    person = person_of(ADA, statements)
    assert person == {
        "objectType": "Person",
        "name": ["Ada L.", "Ada", "Ada Lovelace"],
        "mbox": ["mailto:ada@example.com"],
    }


def test_each_identifier_kind_becomes_an_array():
    account = {"homePage": "http://e.com", "name": "ada"}
    assert person_of({"account": account}, []) == {"objectType": "Person", "account": [account]}
    assert person_of({"openid": "http://id.e.com/ada"}, [])["openid"] == ["http://id.e.com/ada"]
    assert person_of({"mbox_sha1sum": "a" * 40}, [])["mbox_sha1sum"] == ["a" * 40]
