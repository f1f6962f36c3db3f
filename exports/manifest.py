"""`manifest.json`: what an export holds, and how to check it and continue it.

    {"manifest_version": 1, "format": "csv", "files": [{name, rows, bytes, sha256}, ...],
     "rows": <sum of the files' rows>, "query": {filters, after, include_voided},
     "columns": [...] (CSV), "schema": {...} (Parquet), "cursor": "<what --after takes>",
     "through": "<stored instant the export is complete up to>", "created": "..."}

The manifest is written last: a directory with a manifest holds a finished export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    rows: int
    bytes: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Manifest:
    format: str
    files: tuple[FileEntry, ...]
    query: Mapping[str, Any]
    cursor: str
    through: str
    created: str
    columns: tuple[str, ...] = ()
    schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "format": self.format,
            "files": [f.as_dict() for f in self.files],
            "rows": self.rows,
            "query": dict(self.query),
            "cursor": self.cursor,
            "through": self.through,
            "created": self.created,
        }
        if self.columns:
            data["columns"] = list(self.columns)
        if self.schema:
            data["schema"] = dict(self.schema)
        return data


class ManifestError(ValueError):
    """The manifest itself is unreadable or inconsistent."""


def manifest_from_dict(data: Any) -> Manifest:
    """Parse a manifest, checking the shape `verify` relies on."""
    if not isinstance(data, Mapping) or data.get("manifest_version") != MANIFEST_VERSION:
        raise ManifestError(f"not a version {MANIFEST_VERSION} export manifest")
    try:
        files = tuple(_entry(item) for item in data["files"])
        manifest = Manifest(
            format=str(data["format"]),
            files=files,
            query=dict(data["query"]),
            cursor=str(data["cursor"]),
            through=str(data["through"]),
            created=str(data["created"]),
            columns=tuple(data.get("columns", ())),
            schema=dict(data.get("schema", {})),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ManifestError(f"malformed manifest: {error!r}") from None
    if data.get("rows") != manifest.rows:
        raise ManifestError(f"rows is {data.get('rows')}, its files hold {manifest.rows}")
    return manifest


def _entry(item: Any) -> FileEntry:
    name = str(item["name"])
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"file name {name!r} leaves the export directory")
    return FileEntry(name, int(item["rows"]), int(item["bytes"]), str(item["sha256"]))


def differences(expected: FileEntry, actual: FileEntry | None) -> list[str]:
    """What differs between a file as the manifest lists it and as found on disk."""
    if actual is None:
        return [f"{expected.name}: missing"]
    problems = []
    for attribute in ("bytes", "sha256", "rows"):
        want, got = getattr(expected, attribute), getattr(actual, attribute)
        if want != got:
            problems.append(f"{expected.name}: {attribute} is {got}, manifest says {want}")
    return problems


def unlisted(manifest: Manifest, present: Sequence[str]) -> list[str]:
    """Data files in the directory that the manifest does not list."""
    listed = {f.name for f in manifest.files} | {MANIFEST}
    return [f"{name}: not in the manifest" for name in sorted(set(present) - listed)]
