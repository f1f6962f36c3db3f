"""People in MongoDB: import (upsert with conflict detection) and actor resolution.

    identities   {_id: <employee id>, email, emails, accounts: [{home_page, name}],
                  manager_id, department, job_code, status,
                  keys: [<identifier keys>] (absent when the person has none),
                  created, updated}

`keys` has a unique multikey index: no two people can hold the same identifier, even when
two imports run at once. An import row whose identifier another person already holds is a
conflict: reported (with that other employee id) and not applied. Resolution never guesses:
an actor resolves to exactly one person or to a `Resolution` whose reason says why not (no
match, or the ids of the several people it matches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from forwarders.identity.import_file import PersonRow, RowError
from forwarders.identity.person import Person, actor_keys, only_keys
from forwarders.identity.plan import MAX_REPORTED, Conflict, Plan, Planned, person_of, plan_rows

IDENTITIES = "identities"
INDEXES = [IndexModel([("keys", ASCENDING)], name="keys", unique=True, sparse=True)]
CHUNK = 500
DUPLICATE_KEY = 11000
MAX_TRIES = 3
NO_IDENTIFIER = "the actor has no usable identifier (mbox, mbox_sha1sum, account or openid)"


@dataclass(frozen=True, slots=True)
class Resolution:
    person: Person | None
    reason: str | None
    """Set when `person` is None: no match, or an ambiguous one (naming the people)."""
    keys: tuple[str, ...] = ()
    """The actor's identifier keys (what a later import must provide to resolve it)."""


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicting: list[Conflict] = field(default_factory=list)
    invalid: list[RowError] = field(default_factory=list)
    changed_keys: set[str] = field(default_factory=set)
    """The identifier keys of the created and updated people (what re-drive looks for)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "conflicting": [c.as_dict() for c in self.conflicting[:MAX_REPORTED]],
            "conflicting_count": len(self.conflicting),
            "invalid": [e.as_dict() for e in self.invalid[:MAX_REPORTED]],
            "invalid_count": len(self.invalid),
        }


class IdentityStore:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], alias_domains: frozenset[str] = frozenset()
    ) -> None:
        self.people = db[IDENTITIES]
        self.alias_domains = alias_domains

    async def ensure_indexes(self) -> None:
        await self.people.create_indexes(INDEXES)

    # -- queries ----------------------------------------------------------------------------

    async def get(self, employee_id: str) -> Person | None:
        doc = await self.people.find_one({"_id": employee_id})
        return None if doc is None else person_of(doc)

    async def resolve(self, actor: Mapping[str, Any]) -> Resolution:
        """The one person `actor` names, or why there is none: never a guess."""
        return (await self.resolve_many([actor]))[0]

    async def resolve_many(self, actors: Sequence[Mapping[str, Any]]) -> list[Resolution]:
        """`resolve` for each actor, with one query for all of them."""
        keyed = [actor_keys(actor, self.alias_domains) for actor in actors]
        wanted = {key for keys in keyed for key in keys}
        holders: dict[str, Person] = {}
        if wanted:
            async for doc in self.people.find({"keys": {"$in": only_keys(sorted(wanted))}}):
                person = person_of(doc)
                holders.update({k: person for k in only_keys(doc["keys"]) if k in wanted})
        return [_resolution(keys, holders) for keys in keyed]

    async def holders(self) -> dict[str, Person]:
        """Every identifier key with the person holding it: the whole import in one read,
        for a caller that resolves many actors again and again (`resolve_with`)."""
        holders: dict[str, Person] = {}
        async for doc in self.people.find({}):
            person = person_of(doc)
            holders.update({k: person for k in only_keys(doc.get("keys", []))})
        return holders

    def resolve_with(self, holders: Mapping[str, Person], actor: Mapping[str, Any]) -> Resolution:
        """`resolve` against a table `holders` returned (the same rule, no query)."""
        return _resolution(actor_keys(actor, self.alias_domains), holders)

    # -- import -----------------------------------------------------------------------------

    async def import_people(self, rows: Sequence[PersonRow], now: datetime) -> ImportReport:
        """Upsert `rows` (in file order); conflicting rows are reported and not applied."""
        report = ImportReport()
        for start in range(0, len(rows), CHUNK):
            pending = list(rows[start : start + CHUNK])
            for _ in range(MAX_TRIES):
                pending = await self._chunk(pending, now, report)
                if not pending:
                    break
            for row in pending:  # lost MAX_TRIES races with concurrent imports
                holder = await self._holder(row.person)
                report.conflicting.append(Conflict(row.line, row.person.employee_id, *holder))
        return report

    async def _chunk(
        self, rows: list[PersonRow], now: datetime, report: ImportReport
    ) -> list[PersonRow]:
        """Apply one chunk; returns the rows to try again (after a concurrent write)."""
        existing, holders = await self._known(rows)
        plan = plan_rows(rows, existing, holders, now)
        report.conflicting.extend(plan.conflicting)
        report.unchanged += plan.unchanged
        return await self._write(plan.writes, report)

    async def preview_people(self, rows: Sequence[PersonRow], now: datetime) -> Plan:
        """What `import_people(rows)` would do now, with nothing written: one plan over the
        whole file, against everything the file names (as the chunked import sees it)."""
        existing: dict[str, dict[str, Any]] = {}
        holders: dict[str, str] = {}
        for start in range(0, len(rows), CHUNK):
            found, held = await self._known(list(rows[start : start + CHUNK]))
            existing.update(found)
            holders.update(held)
        return plan_rows(rows, existing, holders, now)

    async def _known(
        self, rows: list[PersonRow]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        ids = [row.person.employee_id for row in rows]
        keys = list({key for row in rows for key in row.person.keys()})
        existing = {d["_id"]: d async for d in self.people.find({"_id": {"$in": ids}})}
        holders: dict[str, str] = {}
        if keys:
            async for doc in self.people.find({"keys": {"$in": keys}}, {"keys": 1}):
                holders.update({k: doc["_id"] for k in only_keys(doc["keys"])})
        return existing, holders

    async def _write(self, plan: list[Planned], report: ImportReport) -> list[PersonRow]:
        """Ordered, so a key moving from one person to the next in the file lands in order.
        A duplicate key means a concurrent import took an identifier since we read: the rows
        from there on go round again, with fresh reads."""
        if not plan:
            return []
        ops = [ReplaceOne({"_id": p.doc["_id"]}, p.doc, upsert=True) for p in plan]
        try:
            await self.people.bulk_write(ops, ordered=True)
            applied = len(plan)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            applied = int(errors[0]["index"])
        for done in plan[:applied]:
            person = done.row.person
            (report.updated if done.existed else report.created).append(person.employee_id)
            report.changed_keys.update(person.keys())
        return [p.row for p in plan[applied:]]

    async def _holder(self, person: Person) -> tuple[str, str]:
        """(identifier, other employee id) of a conflict found only by the unique index."""
        keys = list(person.keys())
        doc = await self.people.find_one(
            {"keys": {"$in": keys}, "_id": {"$ne": person.employee_id}}, {"keys": 1}
        )
        if doc is None:
            return "", "(a concurrent import)"
        held = set(only_keys(doc["keys"]))
        return next(k for k in keys if k in held), str(doc["_id"])


def _resolution(keys: tuple[str, ...], holders: Mapping[str, Person]) -> Resolution:
    if not keys:
        return Resolution(None, NO_IDENTIFIER, keys)
    people = {holders[k].employee_id: holders[k] for k in keys if k in holders}
    if len(people) == 1:
        return Resolution(next(iter(people.values())), None, keys)
    if not people:
        return Resolution(None, f"no person has the identifier {' or '.join(keys)}", keys)
    return Resolution(None, f"the actor matches several people: {', '.join(sorted(people))}", keys)
