"""Mapping templates: a versioned CSV that says how an event becomes a receiver's payload.

```
# name: marketplace
# version: 1.0.0
source_field,target_field,data_type,transform,required,notes,cardinality,retention_policy
person.employee_id,member_id,string,,true,HRIS id,one,until_termination
```

Leading `# key: value` lines carry the template's metadata (`version` required, `name`,
`description`); then the header, exactly the eight columns (in any order), then one row per
target field. Everything is checked at load (`load_template`), so a bad template is refused
when an administrator configures it, naming the row and column, and never half-renders in
production. `render_payload` is then a pure function of (template, event, statement,
person); it raises `RenderError` (a value its type cannot hold) or `MissingRequiredField`.
See docs/mapping.md for the format, the roots, the transforms and the shipped defaults.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, Protocol

from forwarders.events import Event
from forwarders.mapping.datatypes import DATA_TYPES, CoercionError, coerce
from forwarders.mapping.paths import PathError, SourcePath, parse_path, resolve
from forwarders.mapping.transforms import Lookups, Transform, TransformError, apply, parse_transform
from statements.errors import BadRequest

COLUMNS = (
    "source_field",
    "target_field",
    "data_type",
    "transform",
    "required",
    "notes",
    "cardinality",
    "retention_policy",
)
KINDS_WITH_TEMPLATES = ("marketplace", "crm")
MAX_TEMPLATE_CHARS = 256 * 1024
MAX_ROWS = 500
MAX_LOOKUP_CHARS = 4 * 1024 * 1024
"""All lookup tables of a template together (they are stored in the forwarder's document)."""
MAX_LOOKUP_TABLES = 20
MAX_CELL = 2000
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TARGET_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")
_RETENTION = re.compile(r"|indefinite|until_termination|P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?")
_BOOLEANS = {"true": True, "false": False}
Cardinality = Literal["one", "many"]


class InvalidTemplate(BadRequest):
    """A template refused at load. `row` is the 1-based data row (0: metadata or header)."""

    error = "invalid_template"

    def __init__(self, row: int, column: str, message: str, *, table: str | None = None) -> None:
        where = f"lookup table {table!r} " if table else "template "
        super().__init__(
            f"{where}row {row}, column {column}: {message}",
            {"field": "template", "row": row, "column": column, "table": table},
        )
        self.row, self.column, self.table = row, column, table
        self.reason = message


class RenderError(Exception):
    """A template row that cannot be rendered for this event (the event is dead-lettered)."""

    def __init__(self, row: int, target_field: str, message: str) -> None:
        super().__init__(f"row {row} ({target_field}): {message}")
        self.row, self.target_field = row, target_field


class MissingRequiredField(RenderError):
    def __init__(self, source_field: str, target_field: str, row: int = 0) -> None:
        super().__init__(row, target_field, "required field missing")
        self.source_field = source_field
        self.args = (f"required field missing: {source_field} -> {target_field}",)


@dataclass(frozen=True, slots=True)
class TemplateRow:
    number: int
    source: SourcePath | None
    target: tuple[str, ...]
    data_type: str
    transform: Transform | None
    required: bool
    cardinality: Cardinality
    notes: str = ""
    retention_policy: str = ""

    @property
    def source_field(self) -> str:
        return self.source.text if self.source else ""

    @property
    def target_field(self) -> str:
        return ".".join(self.target)


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    version: str
    rows: tuple[TemplateRow, ...]
    lookups: Lookups
    text: str
    """The CSV as loaded: persisted with the forwarder, so every worker renders the same."""
    lookup_texts: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "lookups": sorted(self.lookups)}


class PersonLike(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


# -- loading --------------------------------------------------------------------------------


def _metadata(lines: list[str]) -> tuple[dict[str, str], int]:
    """The `# key: value` lines before the header, and how many lines they take."""
    meta: dict[str, str] = {}
    count = 0
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        count += 1
        key, colon, value = stripped.lstrip("#").partition(":")
        if colon and re.fullmatch(r"\s*[A-Za-z_]+\s*", key):
            meta[key.strip().lower()] = value.strip()
    return meta, count


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    for name in names:
        if name not in COLUMNS:
            raise InvalidTemplate(0, name or "(empty)", "unknown column")
        if names.count(name) > 1:
            raise InvalidTemplate(0, name, "column given twice")
    for name in COLUMNS:
        if name not in names:
            raise InvalidTemplate(0, name, "missing column")
    return names


def _choice(row: int, column: str, value: str, choices: Mapping[str, Any]) -> Any:
    key = value.strip().lower()
    if key not in choices:
        raise InvalidTemplate(row, column, f"{value!r} is not one of {', '.join(choices)}")
    return choices[key]


def _target(row: int, text: str) -> tuple[str, ...]:
    keys = tuple(text.strip().split("."))
    bad = next((k for k in keys if not _TARGET_KEY.fullmatch(k)), None)
    if bad is not None:
        raise InvalidTemplate(
            row, "target_field", f"{text!r}: keys are letters, digits, _ or -, joined by dots"
        )
    return keys


def _row(number: int, cells: Mapping[str, str], tables: Lookups) -> TemplateRow:
    try:
        transform = parse_transform(cells["transform"])
    except ValueError as error:
        raise InvalidTemplate(number, "transform", str(error)) from None
    if transform is not None and transform.name == "lookup" and transform.argument not in tables:
        raise InvalidTemplate(number, "transform", f"unknown lookup table {transform.argument!r}")
    source_text = cells["source_field"].strip()
    source = None
    if source_text or transform is None or transform.name != "constant":
        try:
            source = parse_path(source_text)
        except PathError as error:
            raise InvalidTemplate(number, "source_field", str(error)) from None
    data_type = cells["data_type"].strip().lower()
    if data_type not in DATA_TYPES:
        raise InvalidTemplate(
            number, "data_type", f"unknown data type {data_type!r} ({', '.join(DATA_TYPES)})"
        )
    retention = cells["retention_policy"].strip()
    if not _RETENTION.fullmatch(retention):
        raise InvalidTemplate(
            number,
            "retention_policy",
            f"{retention!r}: empty, indefinite, until_termination or a duration such as P7Y",
        )
    return TemplateRow(
        number=number,
        source=source,
        target=_target(number, cells["target_field"]),
        data_type=data_type,
        transform=transform,
        required=_choice(number, "required", cells["required"], _BOOLEANS),
        cardinality=_choice(
            number, "cardinality", cells["cardinality"], {"one": "one", "many": "many"}
        ),
        notes=cells["notes"].strip(),
        retention_policy=retention,
    )


def _check_targets(rows: list[TemplateRow]) -> None:
    """One row per target (several only for a `many` target of one type, merged); no target
    inside another."""
    seen: dict[tuple[str, ...], TemplateRow] = {}
    for row in rows:
        first = seen.get(row.target)
        if first is not None and not (
            row.cardinality == first.cardinality == "many" and row.data_type == first.data_type
        ):
            raise InvalidTemplate(
                row.number,
                "target_field",
                f"{row.target_field!r} is already row {first.number} (only rows of one data "
                "type with cardinality many may share a target)",
            )
        seen.setdefault(row.target, row)
    for row in rows:
        for depth in range(1, len(row.target)):
            if row.target[:depth] in seen:
                parent = seen[row.target[:depth]]
                raise InvalidTemplate(
                    row.number,
                    "target_field",
                    f"{row.target_field!r} is inside {parent.target_field!r} (row {parent.number})",
                )


def _records(text: str, offset: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank, non-comment CSV record."""
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if any(len(c) > MAX_CELL for c in cells):
            raise InvalidTemplate(
                0,
                "(line)",
                f"line {offset + reader.line_num}: a cell is over {MAX_CELL} characters",
            )
        yield offset + reader.line_num, cells


def parse_lookup(name: str, text: str) -> dict[str, tuple[str, ...]]:
    """A lookup table (columns `key,value`; a key on several rows has several values)."""
    if not _TABLE.fullmatch(name):
        raise InvalidTemplate(0, "lookups", f"{name!r} is not a lookup table name", table=name)
    if not isinstance(text, str) or len(text) > MAX_LOOKUP_CHARS:
        raise InvalidTemplate(
            0, "(file)", f"must be CSV text of at most {MAX_LOOKUP_CHARS} characters", table=name
        )
    records = _records(text, 0)
    header = next(records, (0, []))[1]
    if [c.strip().lower() for c in header] != ["key", "value"]:
        raise InvalidTemplate(0, "(header)", "the header must be exactly key,value", table=name)
    table: dict[str, tuple[str, ...]] = {}
    for number, (_, cells) in enumerate(records, start=1):
        if len(cells) != 2 or not cells[0].strip():
            raise InvalidTemplate(number, "key", "a row is a non-empty key and a value", table=name)
        key, value = cells[0].strip(), cells[1].strip()
        table[key] = (*table.get(key, ()), value)
    return table


def _lookups(texts: Mapping[str, str] | None) -> dict[str, dict[str, tuple[str, ...]]]:
    texts = texts or {}
    if len(texts) > MAX_LOOKUP_TABLES:
        raise InvalidTemplate(0, "lookups", f"at most {MAX_LOOKUP_TABLES} lookup tables")
    if sum(len(t) for t in texts.values() if isinstance(t, str)) > MAX_LOOKUP_CHARS:
        raise InvalidTemplate(0, "lookups", f"at most {MAX_LOOKUP_CHARS} characters in all")
    return {name: parse_lookup(name, text) for name, text in texts.items()}


def _rows(lines: list[str], offset: int, tables: Lookups) -> list[TemplateRow]:
    records = _records("\n".join(lines[offset:]), offset)
    header = _header(next(records, (0, []))[1])
    rows = []
    for number, (line, cells) in enumerate(records, start=1):
        if len(cells) != len(header):
            column = header[min(len(cells), len(header) - 1)]
            raise InvalidTemplate(
                number, column, f"line {line} has {len(cells)} cells, expected {len(header)}"
            )
        rows.append(_row(number, dict(zip(header, cells, strict=True)), tables))
        if len(rows) > MAX_ROWS:
            break
    if not rows or len(rows) > MAX_ROWS:
        raise InvalidTemplate(0, "(file)", f"a template has 1 to {MAX_ROWS} rows")
    return rows


def load_template(
    text: str, *, lookups: Mapping[str, str] | None = None, name: str | None = None
) -> Template:
    """Parse and check a template and its lookup tables (name -> CSV text); raises
    InvalidTemplate naming the row and column. `name` is used when the file names none."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEMPLATE_CHARS:
        raise InvalidTemplate(
            0, "(file)", f"must be CSV text of 1 to {MAX_TEMPLATE_CHARS} characters"
        )
    tables = _lookups(lookups)
    lines = text.splitlines()
    meta, offset = _metadata(lines)
    version, name = meta.get("version", ""), meta.get("name") or name or "custom"
    if not _VERSION.fullmatch(version):
        raise InvalidTemplate(
            0, "version", "a `# version: X.Y.Z` line is required before the header"
        )
    if not _NAME.fullmatch(name):
        raise InvalidTemplate(0, "name", f"{name!r}: letters, digits, _ . or -, at most 64")
    rows = _rows(lines, offset, tables)
    _check_targets(rows)
    return Template(
        name=name,
        version=version,
        rows=tuple(rows),
        lookups=tables,
        text=text,
        lookup_texts=dict(lookups or {}),
        description=meta.get("description", ""),
    )


TEMPLATES = resources.files("forwarders.mapping") / "templates"


def template_lookup_names(text: str) -> list[str]:
    """The lookup tables a template's `transform` column names (to read them from files next
    to it); [] when the template is too malformed to tell (loading it then says why)."""
    lines = text.splitlines()
    try:
        records = _records("\n".join(lines[_metadata(lines)[1] :]), 0)
        header = _header(next(records, (0, []))[1])
        cells = [dict(zip(header, cells, strict=False)) for _, cells in records]
    except (InvalidTemplate, csv.Error):
        return []
    names = (c.get("transform", "").strip() for c in cells)
    return sorted({n.partition(":")[2].strip() for n in names if n.startswith("lookup:")})


@functools.cache
def default_template(kind: str) -> Template:
    """The shipped template of a forwarder kind (`marketplace` or `crm`)."""
    if kind not in KINDS_WITH_TEMPLATES:
        raise ValueError(f"no default template for kind {kind!r}")
    text = (TEMPLATES / f"{kind}.csv").read_text(encoding="utf-8")
    lookups = {
        table: (TEMPLATES / f"{table}.csv").read_text(encoding="utf-8")
        for table in template_lookup_names(text)
    }
    return load_template(text, lookups=lookups, name=kind)


# -- rendering ------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _value(row: TemplateRow, roots: Mapping[str, Any], lookups: Lookups) -> Any:
    """The row's value, transformed, as a list of non-empty values for `many`."""
    raw = resolve(row.source, roots) if row.source is not None else None
    try:
        value = apply(row.transform, raw, lookups)
    except TransformError as error:
        raise RenderError(row.number, row.target_field, str(error)) from None
    if row.cardinality == "many":
        items = value if isinstance(value, list) else [value]
        return [item for item in items if not _empty(item)]
    if isinstance(value, list):
        value = [item for item in value if not _empty(item)]
        if len(value) > 1:
            raise RenderError(
                row.number, row.target_field, f"{len(value)} values for a `one` field"
            )
        value = value[0] if value else None
    return None if _empty(value) else value


def _coerced(row: TemplateRow, value: Any) -> Any:
    try:
        if isinstance(value, list):
            return list(dict.fromkeys(coerce(row.data_type, item) for item in value))
        return None if value is None else coerce(row.data_type, value)
    except CoercionError as error:
        raise RenderError(row.number, row.target_field, f"{row.data_type}: {error}") from None


def _put(data: dict[str, Any], target: tuple[str, ...], value: Any) -> None:
    for key in target[:-1]:
        data = data.setdefault(key, {})
    previous = data.get(target[-1])
    if isinstance(previous, list) and isinstance(value, list):
        value = list(dict.fromkeys([*previous, *value]))
    data[target[-1]] = value


def _roots(event: Event, statement: Mapping[str, Any], person: PersonLike) -> dict[str, Any]:
    return {
        "event": event.as_dict(),
        "statement": statement,
        "person": person.as_dict(),
        "activity": statement.get("object"),
        "verb": statement.get("verb"),
        "result": statement.get("result"),
    }


def render_data(template: Template, roots: Mapping[str, Any]) -> dict[str, Any]:
    """The mapped fields: absent optional values are null (`one`) or [] (`many`), so every
    payload of a template version has the same shape."""
    data: dict[str, Any] = {}
    for row in template.rows:
        _put(data, row.target, _coerced(row, _value(row, roots, template.lookups)))
    for row in template.rows:
        if row.required and _empty(_get(data, row.target)):
            raise MissingRequiredField(row.source_field, row.target_field, row.number)
    return data


def _get(data: Mapping[str, Any], target: tuple[str, ...]) -> Any:
    for key in target:
        data = data.get(key) if isinstance(data, Mapping) else None  # type: ignore[assignment]
    return data


def render_payload(
    template: Template, event: Event, statement: Mapping[str, Any], person: PersonLike
) -> dict[str, Any]:
    """The POST body of a marketplace or CRM forwarder for one event."""
    payload: dict[str, Any] = {
        "type": event.type,
        "id": event.id,
        "timestamp": event.timestamp,
        "template": {"name": template.name, "version": template.version},
        "data": render_data(template, _roots(event, statement, person)),
    }
    if event.revokes is not None:
        payload["revokes"] = event.revokes
    return payload
