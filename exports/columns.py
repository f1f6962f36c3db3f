"""CSV columns: flattened statement paths picked by the user, and cells safe in a spreadsheet.

A column is a dotted path into the statement (`actor.mbox`, `result.score.scaled`), with
brackets for keys that hold dots themselves, as extension IRIs do:
`context.extensions[http://example.com/ext/shift]`. Two derived columns exist beside the
paths: `canonical_verb` (see `vocabulary`) and `employee_id` (the HRIS person the actor
resolves to, empty when it resolves to nobody or to several people).

Spreadsheet safety (OWASP "CSV injection"): a text cell starting with `=`, `+`, `-`, `@`, a
tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets, so it gets a
leading `'`, which they show as text. Plain numbers (`-0.5`) stay numbers.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import orjson

from statements.errors import BadRequest

CANONICAL_VERB = "canonical_verb"
EMPLOYEE_ID = "employee_id"
DERIVED = frozenset({CANONICAL_VERB, EMPLOYEE_ID})
ROOTS = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }
)
DEFAULT_COLUMNS = (
    "id",
    "timestamp",
    "stored",
    "actor.mbox",
    "actor.account.homePage",
    "actor.account.name",
    EMPLOYEE_ID,
    "verb.id",
    CANONICAL_VERB,
    "object.id",
    "result.score.scaled",
    "result.success",
    "result.completion",
    "context.registration",
)
MAX_COLUMNS = 200
MAX_COLUMN_LENGTH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_CHARACTERS = frozenset(FORMULA_STARTS)
FORMULA_START = re.compile("\x00[=+\\-@\t\r]")
"""A formula's first character after a NUL, the separator of a column's joined cells (a
NUL inside a cell can only make a column take the slower path, never miss a formula)."""
TEXT_KINDS = frozenset({str, type(None)})
NUMBER_KINDS = frozenset({int, float, type(None)})
BOOLEAN_KINDS = frozenset({bool, type(None)})
BOOLEAN_CELLS = {True: "true", False: "false", None: ""}
NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SEGMENT = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    """As the user wrote it; also the CSV header."""
    path: tuple[str, ...]
    """Keys from the statement's root; empty for a derived column."""


def parse_columns(names: Iterable[str]) -> tuple[Column, ...]:
    """Columns from their names; an unknown root or a malformed path is a 400 naming it."""
    columns = tuple(parse_column(name.strip()) for name in names if name.strip())
    if not columns:
        raise BadRequest("columns: name at least one column", {"field": "columns"})
    if len(columns) > MAX_COLUMNS:
        raise BadRequest(f"columns: at most {MAX_COLUMNS}", {"field": "columns"})
    return columns


def split_columns(raw: str) -> list[str]:
    """A comma-separated list; commas inside brackets belong to the key."""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for char in raw:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*names, "".join(current)]


def parse_column(name: str) -> Column:
    if name in DERIVED:
        return Column(name, ())
    if len(name) > MAX_COLUMN_LENGTH:
        raise _bad_column(name, f"longer than {MAX_COLUMN_LENGTH} characters")
    path = _segments(name)
    if path[0] not in ROOTS:
        known = ", ".join(sorted(ROOTS | DERIVED))
        raise _bad_column(name, f"must start with one of: {known}")
    return Column(name, path)


def _segments(name: str) -> tuple[str, ...]:
    segments, position = [], 0
    while position < len(name):
        match = SEGMENT.match(name, position)
        if match is None:
            raise _bad_column(name, f"unexpected {name[position]!r} at {position}")
        segments.append(match.group(1) or match.group(2))
        position = match.end()
        if position < len(name) and name[position] == "." and name[position + 1 : position + 2]:
            position += 1
    if not segments:
        raise _bad_column(name, "empty path")
    return tuple(segments)


def _bad_column(name: str, rule: str) -> BadRequest:
    return BadRequest(f"column {name!r}: {rule}", {"field": "columns", "column": name})


def lookup(statement: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at `path`, or None when any step is missing (or is not an object).

    Statements come from `orjson.loads`, so an object is a `dict`: the exact type test is
    an export's innermost loop (`isinstance` against `Mapping` cost a third of a CSV row)."""
    value: Any = statement
    for key in path:
        if type(value) is not dict:
            return None
        value = value.get(key)
    return value


def cell(value: Any) -> str:
    """One CSV cell: JSON for objects and arrays, `true`/`false`, numbers as JSON writes
    them, and text neutralised against formula injection."""
    kind = type(value)
    if kind is str:
        return neutralise(value)
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return _json(value)
    return neutralise(_json(value))


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # an integer beyond 64 bits, which `picker` decodes as an int: orjson reads the
        # same text as a float, and so it is written
        return orjson.dumps(_floats(value)).decode()


def _floats(value: Any) -> Any:
    """The value with integers beyond 64 bits as floats, as `orjson.loads` reads them."""
    if type(value) is int and not -(1 << 63) <= value < 1 << 64:
        return float(value)
    if type(value) is dict:
        return {key: _floats(item) for key, item in value.items()}
    if type(value) is list:
        return [_floats(item) for item in value]
    return value


def neutralise(text: str) -> str:
    if text and text[0] in FORMULA_CHARACTERS and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def row(
    statement: Mapping[str, Any], columns: Sequence[Column], derived: Mapping[str, Any]
) -> list[str]:
    """The cells of one statement; `derived` holds the derived columns' values."""
    return [cell(derived.get(c.name) if not c.path else lookup(statement, c.path)) for c in columns]


def rows(
    statements: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    derived: Mapping[str, Sequence[Any]],
) -> list[tuple[str, ...]]:
    """The cells of a page of statements, column by column (see `Walk`); `derived` holds
    each derived column's values, one per statement. Same cells as `row`."""
    return list(zip(*page_cells(Walk(statements), columns, derived), strict=True))


def page_cells(
    walk: Walk, columns: Sequence[Column], derived: Mapping[str, Sequence[Any]]
) -> list[list[str]]:
    """The cells of a page, a list per column (what `files.csv_records` takes)."""
    return [cells_of(walk.values(c.path) if c.path else derived[c.name]) for c in columns]


def cells_of(values: Sequence[Any]) -> list[str]:
    """`cell` of each value. A column of one kind (text and absent values, numbers, or
    booleans: nearly every column) is formatted whole, in C: its types collected with
    `map`, its text searched for a formula start in one joined string, its numbers
    written by one `orjson.dumps` of the list (values parsed from JSON: no NaN or infinity,
    which it would write as `null` too); the rest a cell at a time, the common cases
    inline."""
    kinds = set(map(type, values))
    if kinds <= TEXT_KINDS:
        if FORMULA_START.search("\x00" + "\x00".join(filter(None, values))) is None:
            return [value or "" for value in values]
    elif kinds <= NUMBER_KINDS and values:
        with contextlib.suppress(orjson.JSONEncodeError):  # past 64 bits: a cell at a time
            text = orjson.dumps(values).decode()
            return text[1:-1].replace("null", "").split(",")
    elif kinds <= BOOLEAN_KINDS:
        return list(map(BOOLEAN_CELLS.__getitem__, values))
    return [
        (value if not value or value[0] not in FORMULA_CHARACTERS else neutralise(value))
        if type(value) is str
        else ""
        if value is None
        else cell(value)
        for value in values
    ]


class Walk:
    """Values at paths for a page of statements, each step taken once per page: columns
    share their prefixes (`actor`, `actor.account`, `result.score`), and a column at a time
    costs a fraction of a statement at a time. Same values as `lookup`."""

    def __init__(self, statements: Sequence[Mapping[str, Any]]) -> None:
        self._walked: dict[tuple[str, ...], list[Any]] = {(): list(statements)}

    def values(self, path: tuple[str, ...]) -> list[Any]:
        if path not in self._walked:
            self._walked[path] = self.step(self.values(path[:-1]), path)
        return self._walked[path]

    def step(self, parents: list[Any], path: tuple[str, ...]) -> list[Any]:
        """The values at `path` from those at its parent. `dict.get` mapped over the page
        runs in C (2.7 -> 1.9 us per statement for the default columns); a parent that is
        no object (absent, text, an array) makes it raise, and the page is stepped one
        parent at a time instead."""
        key = path[-1]
        try:
            return list(map(dict.get, parents, repeat(key)))
        except TypeError:
            return [p.get(key) if type(p) is dict else None for p in parents]
