"""The dry run of an HRIS import: new, changed (with the fields), unchanged, conflicting and
invalid rows, decided as the import decides them, with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from forwarders.identity.import_file import parse_people
from forwarders.identity.plan import plan_rows
from forwarders.identity.service import IdentityService
from forwarders.identity.store import IdentityStore
from lrs.storage.statement_source import MongoStatementSource

HEADER = "employee_id,email,other_emails,accounts,department\n"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def identities(db) -> IdentityService:
    service = IdentityService(db, statements=MongoStatementSource(db))
    await service.ensure_indexes()
    return service


def test_a_key_moving_from_one_row_to_the_next_is_no_conflict() -> None:
    rows = parse_people(HEADER + "E1,new@corp.com,,,\nE2,old@corp.com,,,\n", "csv").rows
    stored = {
        "E1": {"_id": "E1", "email": "old@corp.com", "keys": ["mbox:old@corp.com"], "created": NOW}
    }
    plan = plan_rows(rows, stored, {"mbox:old@corp.com": "E1"}, NOW)
    assert [(p.row.person.employee_id, p.existed, p.changed) for p in plan.writes] == [
        ("E1", True, ("email",)),
        ("E2", False, ()),
    ]
    assert plan.conflicting == []


def test_the_plan_never_changes_what_it_was_given() -> None:
    rows = parse_people(HEADER + "E1,new@corp.com,,,\n", "csv").rows
    stored = {"E1": {"_id": "E1", "email": "old@corp.com", "created": NOW}}
    holders = {"mbox:old@corp.com": "E1"}
    plan_rows(rows, stored, holders, NOW)
    assert holders == {"mbox:old@corp.com": "E1"}
    assert stored["E1"]["email"] == "old@corp.com"


async def test_a_dry_run_names_new_changed_conflicting_and_invalid_rows_and_writes_nothing(
    identities: IdentityService, db
) -> None:
    await identities.import_people(HEADER + "E1,ada@corp.com,,,Sales\nE2,bob@corp.com,,,\n", "csv")
    before = await db["identities"].find({}).sort("_id").to_list()
    file = (
        HEADER
        + "E1,ada@corp.com,,,Finance\n"  # changed: department
        + "E2,bob@corp.com,,,\n"  # unchanged
        + "E3,cy@corp.com,,,\n"  # new
        + "E4,ADA@corp.com,,,\n"  # conflict: E1 holds the email
        + ",nobody@corp.com,,,\n"  # invalid: no employee id
    )
    preview = (await identities.preview_people(file, "csv")).as_dict()
    assert preview["new"] == [{"line": 4, "employee_id": "E3"}]
    assert preview["changed"] == [{"line": 2, "employee_id": "E1", "fields": ["department"]}]
    assert preview["unchanged"] == 1
    assert [(c["employee_id"], c["other_employee_id"]) for c in preview["conflicting"]] == [
        ("E4", "E1")
    ]
    assert [e["line"] for e in preview["invalid"]] == [6]
    assert await db["identities"].find({}).sort("_id").to_list() == before


async def test_the_import_after_a_dry_run_does_what_the_dry_run_said(
    identities: IdentityService,
) -> None:
    await identities.import_people(HEADER + "E1,ada@corp.com,,,\n", "csv")
    file = HEADER + "E1,ada@corp.com,,,HR\nE2,bob@corp.com,,,\nE3,BOB@corp.com,,,\n"
    preview = (await identities.preview_people(file, "csv")).as_dict()
    report = await identities.import_people(file, "csv")
    assert (preview["new_count"], preview["changed_count"]) == (
        report["created"],
        report["updated"],
    )
    assert preview["conflicting"] == report["conflicting"]


async def test_a_dry_run_of_a_file_over_the_limit_is_refused_like_the_import(db) -> None:
    small = IdentityService(db, statements=MongoStatementSource(db), max_import_bytes=10)
    with pytest.raises(Exception, match="over 10 bytes"):
        await small.preview_people(HEADER + "E1,ada@corp.com,,,\n", "csv")


async def test_the_store_previews_across_chunks_as_one_file(db, monkeypatch) -> None:
    store = IdentityStore(db)
    await store.ensure_indexes()
    rows = parse_people(HEADER + "".join(f"E{i},p{i}@corp.com,,,\n" for i in range(5)), "csv")
    monkeypatch.setattr("forwarders.identity.store.CHUNK", 2)
    plan = await store.preview_people(rows.rows, NOW)
    assert len(plan.writes) == 5
