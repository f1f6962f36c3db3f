"""What an HRIS import does to the people already stored, decided without I/O.

`plan_rows` sorts the rows of a file into new people, changed people, unchanged rows and
conflicts (a row whose identifier another person holds), given the stored people the rows
name and the holders of their identifier keys. The import applies the plan; the dry run
(`preview`) only reports it, so the preview an operator approves and the import that follows
are the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forwarders.identity.import_file import PersonRow, RowError
from forwarders.identity.person import Person, only_keys

MAX_REPORTED = 1000


@dataclass(frozen=True, slots=True)
class Conflict:
    line: int
    employee_id: str
    identifier: str
    other_employee_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "employee_id": self.employee_id,
            "identifier": self.identifier,
            "other_employee_id": self.other_employee_id,
        }


@dataclass(frozen=True, slots=True)
class Planned:
    row: PersonRow
    existed: bool
    doc: dict[str, Any]
    changed: tuple[str, ...] = ()
    """The fields that differ from the stored person (empty for a new person)."""


@dataclass(slots=True)
class Plan:
    writes: list[Planned] = field(default_factory=list)
    conflicting: list[Conflict] = field(default_factory=list)
    unchanged: int = 0


def person_of(doc: Mapping[str, Any]) -> Person:
    return Person.from_dict({**doc, "employee_id": doc["_id"]})


def document(person: Person, now: datetime, created: datetime) -> dict[str, Any]:
    fields = person.as_dict()
    del fields["employee_id"]
    keys = person.keys()
    return {**fields, **({"keys": list(keys)} if keys else {}), "created": created, "updated": now}


def changed_fields(old: Person, new: Person) -> tuple[str, ...]:
    """The fields a row would change, named as in the file's columns' person fields."""
    before, after = old.as_dict(), new.as_dict()
    return tuple(name for name in after if before.get(name) != after[name])


def plan_rows(
    rows: Sequence[PersonRow],
    existing: Mapping[str, dict[str, Any]],
    holders: Mapping[str, str],
    now: datetime,
) -> Plan:
    """The rows in file order, each against the state the rows before it leave behind (a key
    moving from one person to the next in the file is no conflict). `existing` maps employee
    ids to stored documents, `holders` identifier keys to the employee id holding them; both
    are copied, never changed."""
    known, held, plan = dict(existing), dict(holders), Plan()
    for row in rows:
        person = row.person
        conflict = _conflict(row, held)
        if conflict is not None:
            plan.conflicting.append(conflict)
            continue
        old = known.get(person.employee_id)
        before = person_of(old) if old is not None else None
        if before == person:
            plan.unchanged += 1
            continue
        created = old["created"] if old is not None else now
        doc = {"_id": person.employee_id, **document(person, now, created)}
        for key in only_keys(old.get("keys", ()) if old else ()):
            held.pop(key, None)
        held.update({key: person.employee_id for key in person.keys()})
        known[person.employee_id] = doc
        changed = changed_fields(before, person) if before is not None else ()
        plan.writes.append(Planned(row, old is not None, doc, changed))
    return plan


def _conflict(row: PersonRow, holders: Mapping[str, str]) -> Conflict | None:
    for key in row.person.keys():
        other = holders.get(key)
        if other is not None and other != row.person.employee_id:
            return Conflict(row.line, row.person.employee_id, key, other)
    return None


@dataclass(slots=True)
class ImportPreview:
    """A dry run's answer: what the import would do, row by row, with nothing written."""

    new: list[tuple[int, str]] = field(default_factory=list)
    """(line, employee id) of each person the import would create."""
    changed: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    """(line, employee id, changed fields) of each person it would update."""
    unchanged: int = 0
    conflicting: list[Conflict] = field(default_factory=list)
    invalid: list[RowError] = field(default_factory=list)

    @classmethod
    def of(cls, plan: Plan, invalid: list[RowError]) -> ImportPreview:
        preview = cls(unchanged=plan.unchanged, conflicting=plan.conflicting, invalid=invalid)
        for step in plan.writes:
            line, employee_id = step.row.line, step.row.person.employee_id
            if step.existed:
                preview.changed.append((line, employee_id, step.changed))
            else:
                preview.new.append((line, employee_id))
        return preview

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "new": [{"line": n, "employee_id": e} for n, e in self.new[:MAX_REPORTED]],
            "new_count": len(self.new),
            "changed": [
                {"line": n, "employee_id": e, "fields": list(f)}
                for n, e, f in self.changed[:MAX_REPORTED]
            ],
            "changed_count": len(self.changed),
            "unchanged": self.unchanged,
            "conflicting": [c.as_dict() for c in self.conflicting[:MAX_REPORTED]],
            "conflicting_count": len(self.conflicting),
            "invalid": [e.as_dict() for e in self.invalid[:MAX_REPORTED]],
            "invalid_count": len(self.invalid),
        }
