"""The Parquet schema of an export: stable, flat, documented in docs/exports.md.

One row per statement. Columns are only ever added (at the end), never renamed, retyped or
removed; `SCHEMA_VERSION` counts additions. `statement` holds the whole statement, exactly
as stored, for anything the flat columns leave out.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from exports.columns import Walk
from statements.formats import parse_timestamp

SCHEMA_VERSION = 1
STORED = pa.timestamp("ms", tz="UTC")
TIMESTAMP = pa.timestamp("us", tz="UTC")
TIMESTAMP_PATH = ("timestamp",)
FIELDS: tuple[tuple[str, pa.DataType, tuple[str, ...] | None, str], ...] = (
    ("id", pa.string(), ("id",), "statement id (UUID)"),
    ("stored", STORED, None, "when the LRS stored it"),
    ("timestamp", TIMESTAMP, None, "statement timestamp, in UTC"),
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
PATHS = (*(path for _, _, path, _ in FIELDS if path is not None), TIMESTAMP_PATH)
"""What the columns read of a statement (`picker` decodes only these)."""
UTC_SHAPE = re.compile(
    r"(?:(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](?:\.[0-9]{1,6})?Z\n)*"
)
"""Timestamps in UTC to the microsecond, one per line: the shape Arrow's cast reads as
`parse_timestamp` does (year 0, which Arrow takes and `datetime` has not, left out)."""


def describe() -> dict[str, Any]:
    """The schema as the manifest records it: name -> Arrow type."""
    return {"version": SCHEMA_VERSION, "columns": {f.name: str(f.type) for f in SCHEMA}}


def record_batch(
    walk: Walk,
    raws: Sequence[str],
    stored_ms: Sequence[int],
    employee_ids: Sequence[str | None],
    canonical_verbs: Sequence[str | None],
) -> pa.RecordBatch:
    """A page's rows, from its statements' values at `PATHS` (a `Walk` over whole parsed
    statements, or over `picker`'s structs: the same values)."""
    derived: dict[str, Any] = {
        # milliseconds straight into the column: a datetime per row cost 0.4 us of ~3.7
        "stored": pa.array(stored_ms, type=STORED),
        "timestamp": timestamp_column(walk.values(TIMESTAMP_PATH)),
        "employee_id": list(employee_ids),
        "canonical_verb": list(canonical_verbs),
        "statement": list(raws),
    }
    columns: dict[str, Any] = {}
    for name, kind, path, _ in FIELDS:
        columns[name] = derived[name] if path is None else _path_column(walk.values(path), kind)
    # xAPI's default: Activity when absent (or not a text)
    object_types = walk.values(("object", "objectType"))
    columns["object_type"] = [v if type(v) is str and v else "Activity" for v in object_types]
    return pa.RecordBatch.from_pydict(columns, schema=SCHEMA)


def _path_column(values: list[Any], kind: pa.DataType) -> pa.Array:
    """The values at one path as an Arrow column of `kind`; a value of another JSON type
    is null (a statement is validated, so a mismatch means an absent property).

    A string or boolean column is handed to Arrow as it is, and filtered only when Arrow
    refuses it (it accepts neither a number as a string nor as a boolean): filtering every
    value first was a comprehension per column per page. A number column is converted
    here, since Arrow would take `True` as 1.0."""
    if kind == pa.float64():
        return pa.array(
            [float(v) if type(v) is int or type(v) is float else None for v in values], kind
        )
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        accepted = str if kind == pa.string() else bool
        return pa.array([v if type(v) is accepted else None for v in values], kind)


def timestamp_column(values: Sequence[Any]) -> pa.Array:
    """The `timestamp` column: each text `parse_timestamp` reads, in UTC; null otherwise.

    A page whose every timestamp has the shape `YYYY-MM-DDThh:mm:ss[.ffffff]Z` (what LRSs
    and most providers write) is converted by Arrow's own ISO 8601 cast, in C, which reads
    that shape exactly as `parse_timestamp` does and refuses what it refuses in it (a 30th
    of February, hour 24, a leap second: the page then goes the slow way). Anything else
    (offsets, the basic format, a leap second, a value that is no text) is parsed a value
    at a time into datetimes, which Arrow converts one by one: 2 us per statement, where
    the cast takes a tenth of that."""
    if set(map(type, values)) == {str} and UTC_SHAPE.fullmatch("\n".join(values) + "\n"):
        with contextlib.suppress(pa.ArrowInvalid):
            return pa.array(values, pa.string()).cast(TIMESTAMP)
    return pa.array([_timestamp(v) for v in values], TIMESTAMP)


def _timestamp(raw: Any) -> datetime | None:
    return parse_timestamp(raw) if isinstance(raw, str) else None
