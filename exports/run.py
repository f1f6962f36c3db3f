"""One export: statements from the store into bounded, checksummed files and a manifest.

Reading and writing overlap: `source.pages` reads the next page while this module parses,
formats and compresses the current one in a worker thread (zlib and pyarrow release the GIL
for the heavy part; decoding, with msgspec, holds it). Memory stays bounded by two pages
whatever the export's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from exports.columns import CANONICAL_VERB, EMPLOYEE_ID, page_cells
from exports.files import Parts, csv_line, csv_records
from exports.manifest import MANIFEST, FileEntry, Manifest
from exports.picker import FieldPicker
from exports.source import (
    PAGE_SIZE,
    EmployeeIds,
    StatementReader,
    cutoff_ms,
    pages,
    settled_bounds,
)
from exports.spec import ExportSpec
from exports.vocabulary import canonical_verb
from lrs.storage.sequence import ms_of, stored_string
from statements.errors import BadRequest
from statements.query import encode_cursor
from statements.types import StoredStatement

if TYPE_CHECKING:
    import pyarrow as pa

ACTOR = ("actor",)
"""The path the employee ids are resolved from."""


@dataclass(slots=True)
class Progress:
    rows: int = 0
    files: int = 0
    through: str | None = None
    """`stored` of the last statement written."""

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "files": self.files, "through": self.through}


@dataclass(frozen=True, slots=True)
class Page:
    statements: Sequence[StoredStatement]
    parsed: Sequence[Any] = ()
    """What `PageWriter.parse` made of the statements."""
    employees: Sequence[str | None] = ()


class PageWriter:
    """Formats pages for one export's format and hands the rows to `Parts`."""

    def __init__(self, spec: ExportSpec, directory: Path) -> None:
        self.spec = spec
        header = b""
        self._picker: FieldPicker | None = None
        if spec.format == "csv":
            header = csv_line([c.name for c in spec.columns])
            paths = [c.path for c in spec.columns if c.path]
            self._picker = FieldPicker([*paths, ACTOR] if self.needs_employees else paths)
        elif spec.format == "parquet":
            from exports.parquet_schema import PATHS  # pyarrow only for Parquet

            self._picker = FieldPicker([*PATHS, ACTOR])
        self.parts = Parts(directory, spec.format, spec.max_file_bytes, header)

    @property
    def needs_parsed(self) -> bool:
        return self.spec.format != "ndjson"

    @property
    def needs_employees(self) -> bool:
        return self.spec.format == "parquet" or any(
            c.name == EMPLOYEE_ID for c in self.spec.columns
        )

    def parse(self, statements: Sequence[StoredStatement]) -> list[Any]:
        """What `write` reads of each statement: the fields of its columns (see `picker`),
        CSV's or Parquet's."""
        assert self._picker is not None  # noqa: S101 - NDJSON is never parsed (needs_parsed)
        return self._picker.decode([s.raw for s in statements])

    def actors(self, parsed: Sequence[Any]) -> list[Any]:
        """The actors of parsed statements, for their employee ids."""
        assert self._picker is not None  # noqa: S101 - only parsed pages have actors
        return [a if a is not None else {} for a in self._picker.walk(parsed).values(ACTOR)]

    def write(self, page: Page) -> None:
        if self._picker is None:
            self.parts.write_lines([s.raw.encode() + b"\n" for s in page.statements])
        elif self.spec.format == "csv":
            self.parts.write_records(*self._csv_records(page, self._picker))
        else:
            self.parts.write_batch(
                self._record_batch(page, self._picker), [len(s.raw) for s in page.statements]
            )

    def _csv_records(self, page: Page, picker: FieldPicker) -> tuple[bytes, list[int]]:
        derived = {
            CANONICAL_VERB: canonical_verbs(page.statements),
            EMPLOYEE_ID: page.employees or [None] * len(page.parsed),
        }
        walk = picker.walk(page.parsed)
        return csv_records(page_cells(walk, self.spec.columns, derived))

    def _record_batch(self, page: Page, picker: FieldPicker) -> pa.RecordBatch:
        from exports.parquet_schema import record_batch  # pyarrow only for Parquet

        statements = page.statements
        return record_batch(
            picker.walk(page.parsed),
            [s.raw for s in statements],
            [ms_of(s.seq) for s in statements],
            page.employees or [None] * len(statements),
            canonical_verbs(statements),
        )

    def close(self) -> list[FileEntry]:
        return self.parts.close()


def prepare_directory(directory: Path) -> None:
    """The export's own directory: new, or empty (never mixed with other files)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise BadRequest(f"{directory} is not empty: export into a new directory", {"field": "out"})


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while one page is parsed and written.

    A parsed page is some 60,000 containers (dicts and lists) that live until the page is
    written, long enough to be promoted through the collector's generations: it then ran
    about 1,300 young and 10 full collections per 50,000 statements, 0.7-1.1 s of an
    export's 2.6-3.4 s of CPU (CSV and Parquet). Refcounting frees a written page whole,
    so the collector has nothing to find in it; off for the page and on again after it,
    it runs about 110 young collections (0.1-0.5 s) and no full one. Between pages it
    runs as usual, so other work in the process (an export job in the API server) is
    collected as before. The previous state is restored: a collector someone else turned
    off stays off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def canonical_verbs(statements: Sequence[StoredStatement]) -> list[str | None]:
    """The word ingest stored beside each statement, or for a statement stored without
    one, its verb classified now (`vocabulary`; the statement parsed whole for it)."""
    return [s.canonical_verb or canonical_verb(orjson.loads(s.raw)) for s in statements]


async def run_export(
    spec: ExportSpec,
    store: StatementReader,
    directory: Path,
    *,
    now: datetime,
    identities: EmployeeIds | None = None,
    consistent_through_ms: Callable[[], int] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> Manifest:
    prepare_directory(directory)
    bounds = settled_bounds(spec.query, cutoff_ms(now, spec.settle_seconds, consistent_through_ms))
    writer = PageWriter(spec, directory)
    progress = Progress()
    try:
        async for statements in pages(
            store, bounds.query, include_voided=spec.include_voided, page_size=page_size
        ):
            with paused_gc():
                page = await _page(writer, statements, identities)
                await asyncio.to_thread(writer.write, page)
                del page
            progress.rows += len(statements)
            progress.files = len(writer.parts.files) + 1
            if statements:
                progress.through = stored_string(ms_of(statements[-1].seq))
            if on_progress is not None:
                on_progress(progress)
    finally:
        files = await asyncio.to_thread(writer.close)
    manifest = Manifest(
        format=spec.format,
        files=tuple(files),
        query=spec.manifest_query(),
        cursor=encode_cursor(bounds.cursor),
        through=stored_string(ms_of(bounds.cursor)),
        created=now.isoformat().replace("+00:00", "Z"),
        columns=tuple(c.name for c in spec.columns) if spec.format == "csv" else (),
        schema=_parquet_description() if spec.format == "parquet" else {},
    )
    write_manifest(directory, manifest)
    return manifest


async def _page(
    writer: PageWriter, statements: Sequence[StoredStatement], identities: EmployeeIds | None
) -> Page:
    if not writer.needs_parsed or not statements:
        return Page(statements)
    parsed = await asyncio.to_thread(writer.parse, statements)
    employees: Sequence[str | None] = ()
    if identities is not None and writer.needs_employees:
        employees = await identities.employee_ids(writer.actors(parsed))
    return Page(statements, parsed, employees)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Written last, and atomically: a manifest means every file it lists is complete."""
    temporary = directory / f".{MANIFEST}.tmp"
    temporary.write_bytes(orjson.dumps(manifest.as_dict(), option=orjson.OPT_INDENT_2))
    os.replace(temporary, directory / MANIFEST)


def _parquet_description() -> dict[str, Any]:
    """The Parquet schema for the manifest; pyarrow is imported by Parquet exports only."""
    from exports.parquet_schema import describe

    return describe()
