"""The Parquet schema of an export: stable, flat, documented in docs/exports.md.

One row per statement. Columns are only ever added (at the end), never renamed, retyped or
removed; `SCHEMA_VERSION` counts additions. `statement` holds the whole statement, exactly
as stored, for anything the flat columns leave out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from exports.columns import lookup
from exports.vocabulary import canonical_verb
from statements.formats import parse_timestamp

SCHEMA_VERSION = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIELDS: tuple[tuple[str, pa.DataType, tuple[str, ...] | None, str], ...] = (
    ("id", pa.string(), ("id",), "statement id (UUID)"),
    ("stored", pa.timestamp("ms", tz="UTC"), None, "when the LRS stored it"),
    ("timestamp", pa.timestamp("us", tz="UTC"), None, "statement timestamp, in UTC"),
    ("actor_object_type", pa.string(), ("actor", "objectType"), "Agent or Group"),
    ("actor_name", pa.string(), ("actor", "name"), ""),
    ("actor_mbox", pa.string(), ("actor", "mbox"), "mailto: IRI"),
    ("actor_mbox_sha1sum", pa.string(), ("actor", "mbox_sha1sum"), ""),
    ("actor_openid", pa.string(), ("actor", "openid"), ""),
    ("actor_account_home_page", pa.string(), ("actor", "account", "homePage"), ""),
    ("actor_account_name", pa.string(), ("actor", "account", "name"), ""),
    ("employee_id", pa.string(), None, "HRIS person the actor resolves to, if exactly one"),
    ("verb_id", pa.string(), ("verb", "id"), ""),
    ("canonical_verb", pa.string(), None, "canonical word, or the verb IRI"),
    ("object_type", pa.string(), ("object", "objectType"), "Activity when absent"),
    ("object_id", pa.string(), ("object", "id"), ""),
    ("registration", pa.string(), ("context", "registration"), ""),
    ("result_score_scaled", pa.float64(), ("result", "score", "scaled"), ""),
    ("result_score_raw", pa.float64(), ("result", "score", "raw"), ""),
    ("result_score_min", pa.float64(), ("result", "score", "min"), ""),
    ("result_score_max", pa.float64(), ("result", "score", "max"), ""),
    ("result_success", pa.bool_(), ("result", "success"), ""),
    ("result_completion", pa.bool_(), ("result", "completion"), ""),
    ("result_duration", pa.string(), ("result", "duration"), "ISO 8601 duration"),
    ("version", pa.string(), ("version",), "xAPI version of the statement"),
    ("statement", pa.string(), None, "the whole statement, JSON text as stored"),
)
SCHEMA = pa.schema([pa.field(name, kind) for name, kind, _, _ in FIELDS])


def describe() -> dict[str, Any]:
    """The schema as the manifest records it: name -> Arrow type."""
    return {"version": SCHEMA_VERSION, "columns": {f.name: str(f.type) for f in SCHEMA}}


def record_batch(
    statements: Sequence[Mapping[str, Any]],
    raws: Sequence[str],
    stored_ms: Sequence[int],
    employee_ids: Sequence[str | None],
    stored_verbs: Sequence[str | None],
) -> pa.RecordBatch:
    columns: dict[str, list[Any]] = {name: [] for name, _, _, _ in FIELDS}
    rows = zip(statements, raws, stored_ms, employee_ids, stored_verbs, strict=True)
    for statement, raw, ms, employee, stored_verb in rows:
        derived = {
            "stored": EPOCH + timedelta(milliseconds=ms),
            "timestamp": _timestamp(statement.get("timestamp")),
            "employee_id": employee,
            "canonical_verb": canonical_verb(statement, stored_verb),
            "statement": raw,
        }
        for name, kind, path, _ in FIELDS:
            value = derived[name] if path is None else lookup(statement, path)
            columns[name].append(_typed(value, kind))
        if columns["object_type"][-1] is None:
            columns["object_type"][-1] = "Activity"
    return pa.RecordBatch.from_pydict(columns, schema=SCHEMA)


def _timestamp(raw: Any) -> datetime | None:
    return parse_timestamp(raw) if isinstance(raw, str) else None


def _typed(value: Any, kind: pa.DataType) -> Any:
    """The value if it has the column's type, else null (a statement is validated, so a
    mismatch means an absent property)."""
    if value is None:
        return None
    if pa.types.is_string(kind):
        return value if isinstance(value, str) else None
    if pa.types.is_floating(kind):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if is_number else None
    if pa.types.is_boolean(kind):
        return value if isinstance(value, bool) else None
    return value
