"""Importing people into the real database and resolving actors to them: created, updated,
unchanged and conflicting rows; case variants, aliases, several accounts, terminated people;
exactly one person or a reason, never a guess."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from forwarders.identity.import_file import parse_people
from forwarders.identity.person import Person
from forwarders.identity.store import IdentityStore

CORP = frozenset({"corp.com"})
LMS = "https://lms.example.com"


@pytest.fixture
async def people(db) -> IdentityStore:
    store = IdentityStore(db, CORP)
    await store.ensure_indexes()
    return store


async def load(store: IdentityStore, text: str, fmt="csv"):
    parsed = parse_people(text, fmt, store.alias_domains)
    report = await store.import_people(parsed.rows, datetime.now(UTC))
    report.invalid = parsed.errors
    return report


HEADER = "employee_id,email,other_emails,accounts,status\n"


async def test_an_import_creates_then_updates_and_leaves_unchanged_rows_alone(people, db):
    first = await load(people, HEADER + "E1,ada@corp.com,,,\nE2,bob@corp.com,,,\n")
    assert (first.created, first.updated, first.unchanged) == (["E1", "E2"], [], 0)
    stored = await db["identities"].find_one({"_id": "E1"})
    created = stored["created"]

    second = await load(people, HEADER + "E1,ada@corp.com,,,\nE2,bob@corp.com,,,terminated\n")
    assert (second.created, second.updated, second.unchanged) == ([], ["E2"], 1)
    assert (await people.get("E2")).terminated
    assert (await db["identities"].find_one({"_id": "E1"}))["created"] == created
    assert second.changed_keys == set(Person("E2", "bob@corp.com").keys())


async def test_the_same_email_on_two_people_in_one_file_is_a_conflict_and_not_applied(people):
    report = await load(people, HEADER + "E1,ada@corp.com,,,\nE2,bob@corp.com,ADA@corp.com,,\n")
    assert report.created == ["E1"]
    [conflict] = report.conflicting
    assert conflict.as_dict() == {
        "line": 3,
        "employee_id": "E2",
        "identifier": "mbox:ada@corp.com",
        "other_employee_id": "E1",
    }
    assert await people.get("E2") is None


async def test_an_email_another_person_already_holds_in_the_store_is_a_conflict(people):
    await load(people, HEADER + "E1,ada@corp.com,,,\n")
    report = await load(people, HEADER + "E7,Ada+Hiring@Corp.com,,,\n")  # case and alias
    assert report.created == []
    assert [(c.employee_id, c.identifier, c.other_employee_id) for c in report.conflicting] == [
        ("E7", "mbox:ada@corp.com", "E1")
    ]
    assert await people.get("E7") is None


async def test_an_update_that_would_take_someone_else_s_account_is_refused_whole(people):
    await load(people, HEADER + f"E1,ada@corp.com,,{LMS}|ada,\nE2,bob@corp.com,,,\n")
    report = await load(people, HEADER + f"E2,bob@corp.com,bob2@corp.com,{LMS}|ada,\n")
    assert [c.identifier for c in report.conflicting] == [f'account:["{LMS}","ada"]']
    assert (await people.get("E2")).emails == ()  # bob2 not added either


async def test_an_identifier_can_move_when_its_holder_lets_go_of_it_earlier_in_the_file(people):
    await load(people, HEADER + "E1,ada@corp.com,shared@corp.com,,\n")
    report = await load(people, HEADER + "E1,ada@corp.com,,,\nE2,bob@corp.com,shared@corp.com,,\n")
    assert (report.updated, report.created, report.conflicting) == (["E1"], ["E2"], [])
    resolution = await people.resolve({"mbox": "mailto:shared@corp.com"})
    assert resolution.person is not None and resolution.person.employee_id == "E2"


async def test_the_unique_index_refuses_what_a_concurrent_import_took_meanwhile(
    people, db, monkeypatch
):
    """The race: rows checked, then another import takes an email before the write."""
    read = people._known
    taken = Person("E1", "ada@corp.com")

    async def read_then_lose_the_race(rows):
        known = await read(rows)
        if await db["identities"].count_documents({"_id": "E1"}) == 0:
            await db["identities"].insert_one({"_id": "E1", "keys": list(taken.keys())})
        return known

    monkeypatch.setattr(people, "_known", read_then_lose_the_race)
    text = HEADER + "E0,zed@corp.com,,,\nE2,ada@corp.com,,,\nE3,cy@corp.com,,,\n"
    report = await load(people, text)
    assert [(c.employee_id, c.other_employee_id) for c in report.conflicting] == [("E2", "E1")]
    assert sorted(report.created) == ["E0", "E3"]  # the rows after it went round again
    assert await people.get("E2") is None


async def test_every_email_and_account_of_a_person_resolves_to_them(people):
    await load(
        people,
        HEADER + f"E1,ada@corp.com,ada.lovelace@corp.com,{LMS}|ada;https://crm.example.com|A-17,\n",
    )
    digest = hashlib.sha1(b"mailto:ada.lovelace@corp.com", usedforsecurity=False).hexdigest()
    actors = [
        {"mbox": "mailto:ada@corp.com"},
        {"mbox": "mailto:ADA@Corp.com"},
        {"mbox": "mailto:ada+course-42@corp.com"},
        {"mbox": "mailto:Ada.Lovelace@corp.com"},
        {"mbox_sha1sum": digest},
        {"account": {"homePage": LMS + "/", "name": "ada"}},
        {"account": {"homePage": "https://crm.example.com", "name": "A-17"}},
    ]
    for actor in actors:
        resolution = await people.resolve(actor)
        assert resolution.person is not None, actor
        assert resolution.person.employee_id == "E1"
        assert resolution.reason is None


async def test_an_actor_nobody_has_is_unmatched_with_the_reason_and_its_keys(people):
    await load(people, HEADER + "E1,ada@corp.com,,,\n")
    resolution = await people.resolve({"mbox": "mailto:eve@corp.com"})
    assert resolution.person is None
    assert resolution.reason == "no person has the identifier mbox:eve@corp.com"
    assert resolution.keys == ("mbox:eve@corp.com",)
    # an account name is case-sensitive: not a near match either
    assert (await people.resolve({"account": {"homePage": LMS, "name": "ADA"}})).person is None


async def test_an_actor_matching_several_people_is_never_guessed(people):
    await load(people, HEADER + f"E1,ada@corp.com,,,\nE2,bob@corp.com,,{LMS}|ada,\n")
    actor = {"mbox": "mailto:ada@corp.com", "account": {"homePage": LMS, "name": "ada"}}
    resolution = await people.resolve(actor)
    assert resolution.person is None
    assert resolution.reason == "the actor matches several people: E1, E2"


async def test_an_actor_without_identifier_and_terminated_people(people):
    await load(people, HEADER + "E1,ada@corp.com,,,Terminated\n")
    assert (await people.resolve({"objectType": "Group", "member": []})).reason.startswith(
        "the actor has no usable identifier"
    )
    resolution = await people.resolve({"mbox": "mailto:ada@corp.com"})
    assert resolution.person is not None and resolution.person.terminated


async def test_resolving_many_actors_at_once_gives_one_answer_each(people):
    await load(people, HEADER + "E1,ada@corp.com,,,\nE2,bob@corp.com,,,\n")
    found = await people.resolve_many(
        [
            {"mbox": "mailto:bob@corp.com"},
            {"mbox": "mailto:x@corp.com"},
            {"mbox": "mailto:ada@corp.com"},
        ]
    )
    assert [r.person.employee_id if r.person else None for r in found] == ["E2", None, "E1"]


async def test_a_person_without_any_identifier_is_stored_and_keyless(people, db):
    report = await load(people, "employee_id,department\nE1,Sales\nE2,Sales\n")
    assert report.created == ["E1", "E2"]  # the sparse unique index lets several be keyless
    assert "keys" not in await db["identities"].find_one({"_id": "E1"})
