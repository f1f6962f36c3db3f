"""The identity admin API, as async functions for the HTTP resource and the CLI: import an
HRIS file (and re-drive the events it resolves) or preview it (a dry run), read a person,
list unmatched events.

Errors are `InvalidImport` (400), `PayloadTooLarge` (413) and `PersonNotFound` (404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.errors import InvalidImport, PersonNotFound
from forwarders.identity.import_file import FORMATS, Format, ParsedFile, parse_people
from forwarders.identity.person import Person
from forwarders.identity.plan import ImportPreview
from forwarders.identity.store import IdentityStore
from forwarders.pipeline import Pipeline
from forwarders.queue import EventRecord, JobStore
from forwarders.secretbox import SecretBox
from forwarders.source import StatementSource
from forwarders.store import ForwarderStore
from statements.errors import InvalidQuery, PayloadTooLarge
from statements.formats import parse_timestamp

MAX_LIMIT = 1000
DEFAULT_MAX_IMPORT_BYTES = 32 * 1024 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


def import_format(name: str) -> Format:
    for fmt in FORMATS:
        if name == fmt:
            return fmt
    raise InvalidImport("format", f"must be one of {', '.join(FORMATS)}")


@dataclass(frozen=True, slots=True)
class UnmatchedPage:
    events: list[EventRecord]
    more: str | None
    """The cursor of the next page (`after`), None on the last one."""

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "more": self.more}


def _cursor(record: EventRecord) -> str:
    return f"{record.created.isoformat()}|{record.id}"


def _parse_cursor(value: str) -> tuple[datetime, str]:
    stamp, bar, event_id = value.partition("|")
    when = parse_timestamp(stamp)
    if not bar or when is None or not event_id:
        raise InvalidQuery("after", "not a cursor this API returned")
    return when, event_id


class IdentityService:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        statements: StatementSource,
        alias_domains: frozenset[str] = frozenset(),
        secrets_key: str | None = None,
        max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = IdentityStore(db, alias_domains)
        self.jobs = JobStore(db, statements)
        self.forwarders = ForwarderStore(db, SecretBox(secrets_key))
        self.pipeline = Pipeline(statements, self.store, self.jobs)
        self.max_import_bytes = max_import_bytes
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await self.store.ensure_indexes()
        await self.jobs.ensure_indexes()

    async def import_people(self, data: bytes | str, fmt: Format) -> dict[str, Any]:
        """Upsert the people of an HRIS file, then re-drive the unmatched events of every
        created or updated person. Returns the report (see docs/identities.md)."""
        parsed = self._parse(data, fmt)
        now = self.clock()
        report = await self.store.import_people(parsed.rows, now)
        report.invalid = parsed.errors
        redriven = await self.redrive(report.changed_keys, now)
        return {**report.as_dict(), "redriven": redriven}

    async def preview_people(self, data: bytes | str, fmt: Format) -> ImportPreview:
        """The dry run of `import_people`: the new, changed, unchanged, conflicting and
        invalid rows, decided as the import decides them, with nothing written."""
        parsed = self._parse(data, fmt)
        plan = await self.store.preview_people(parsed.rows, self.clock())
        return ImportPreview.of(plan, parsed.errors)

    def _parse(self, data: bytes | str, fmt: Format) -> ParsedFile:
        size = len(data.encode() if isinstance(data, str) else data)
        if size > self.max_import_bytes:
            limit = self.max_import_bytes
            raise PayloadTooLarge(f"import file over {limit} bytes", {"limit": limit})
        return parse_people(data, fmt, self.store.alias_domains)

    async def redrive(self, keys: set[str], now: datetime | None = None) -> dict[str, int]:
        if not keys:
            return {"resolved": 0, "still_unmatched": 0}
        forwarders = await self.forwarders.all()
        report = await self.pipeline.redrive(forwarders, now or self.clock(), keys=keys)
        return report.as_dict()

    async def get_person(self, employee_id: str) -> Person:
        person = await self.store.get(employee_id)
        if person is None:
            raise PersonNotFound(employee_id)
        return person

    async def list_unmatched(
        self, *, forwarder_id: str | None = None, limit: int = 100, after: str | None = None
    ) -> UnmatchedPage:
        """Unmatched events with their reasons, newest first, a page at a time."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidQuery("limit", f"must be from 1 to {MAX_LIMIT}")
        position = _parse_cursor(after) if after is not None else None
        records = await self.jobs.list_unmatched(forwarder_id, limit + 1, position, self.clock())
        more = _cursor(records[limit - 1]) if len(records) > limit else None
        return UnmatchedPage(records[:limit], more)
