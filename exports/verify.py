"""`lrs export verify DIR`: every file's size, SHA-256 and row count against the manifest.

Rows are recounted from the data itself (gzip streams decompressed, CSV records parsed, so
quoted newlines count once; Parquet from its footer), not trusted from the manifest.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from exports.files import READ_CHUNK, file_sha256
from exports.manifest import (
    MANIFEST,
    FileEntry,
    ManifestError,
    differences,
    manifest_from_dict,
    unlisted,
)


@dataclass(slots=True)
class VerifyReport:
    directory: str
    rows: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "ok": self.ok,
            "rows": self.rows,
            "files": self.files,
            "problems": self.problems,
        }


def verify_export(directory: Path) -> VerifyReport:
    report = VerifyReport(str(directory))
    try:
        manifest = manifest_from_dict(orjson.loads((directory / MANIFEST).read_bytes()))
    except (OSError, orjson.JSONDecodeError, ManifestError) as error:
        report.problems.append(f"{MANIFEST}: {error}")
        return report
    for expected in manifest.files:
        report.problems += differences(
            expected, inspect(directory / expected.name, manifest.format)
        )
    report.problems += unlisted(manifest, [p.name for p in directory.iterdir()])
    report.rows, report.files = manifest.rows, len(manifest.files)
    return report


def inspect(path: Path, fmt: str) -> FileEntry | None:
    """The file as found: size, checksum and recounted rows (-1 when unreadable)."""
    if not path.is_file():
        return None
    return FileEntry(path.name, count_rows(path, fmt), path.stat().st_size, file_sha256(path))


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return _parquet_rows(path)
    try:
        if fmt == "csv":
            with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
                return max(0, sum(1 for _ in csv.reader(text)) - 1)  # minus the header
        return _count_lines(path)
    except (OSError, EOFError, zlib.error, csv.Error, UnicodeDecodeError):
        return -1


def _parquet_rows(path: Path) -> int:
    """Rows in the file's metadata; pyarrow (30 MB) is imported by Parquet checks only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, pa.ArrowException):
        return -1


def _count_lines(path: Path) -> int:
    lines = 0
    with gzip.open(path, "rb") as stream:
        assert isinstance(stream, io.BufferedIOBase | gzip.GzipFile)  # noqa: S101 - binary mode
        while chunk := stream.read(READ_CHUNK):
            lines += chunk.count(b"\n")
    return lines
