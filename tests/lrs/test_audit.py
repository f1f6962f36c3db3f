"""The audit log keeps every entry, newest first, and pages by id."""

from __future__ import annotations

from lrs.services import Services


async def test_entries_are_listed_newest_first_with_who_what_where(services: Services):
    audit = services.audit
    await audit.record(actor="k1", action="credential.created", target="k2", source="cli")
    await audit.record(actor="anonymous", action="auth.failed", source="10.0.0.1", outcome="denied")

    entries = await audit.list()

    assert [e.action for e in entries] == ["auth.failed", "credential.created"]
    assert entries[0].source == "10.0.0.1" and entries[0].outcome == "denied"
    assert entries[1].as_dict()["target"] == "k2"


async def test_paging_with_before_and_filtering_by_action(services: Services):
    for n in range(5):
        await services.audit.record(actor="a", action="token.issued", details={"n": n})
    await services.audit.record(actor="a", action="other")

    first = await services.audit.list(limit=2, action="token.issued")
    rest = await services.audit.list(before=first[-1].id, action="token.issued")

    assert [e.details["n"] for e in first] == [4, 3]
    assert [e.details["n"] for e in rest] == [2, 1, 0]
