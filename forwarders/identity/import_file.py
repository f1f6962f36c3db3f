"""Reading an HRIS export (CSV or JSON Lines) into `Person`s, with an error per bad row.

Columns (CSV header, case-insensitive) or fields (JSON Lines):

    employee_id   required
    email         the primary email
    other_emails  CSV: `a@x.com;b@x.com`            JSON Lines: ["a@x.com", "b@x.com"]
    accounts      CSV: `https://lms|ada;https://crm|a.l`
                  JSON Lines: [{"home_page": "https://lms", "name": "ada"}]
    manager_id, department, job_code
    status        default `active`; `terminated` marks a leaver

A bad row is reported by line number and field and skipped; the other rows still count. A
file that cannot be read as a whole (not UTF-8, no `employee_id` column, an unknown column,
too many rows) raises `InvalidImport` and nothing is imported. An unknown column or field is
an error rather than ignored, so a misspelt `emial` column cannot silently drop data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from forwarders.errors import InvalidImport
from forwarders.identity.person import MAX_TEXT, Person, normalise_email, normalise_home_page
from statements.json_input import JSONInputError, decode_json

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
COLUMNS = (
    "employee_id",
    "email",
    "other_emails",
    "accounts",
    "manager_id",
    "department",
    "job_code",
    "status",
)
MAX_LIST = 50
MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class PersonRow:
    line: int
    person: Person


@dataclass(slots=True)
class ParsedFile:
    rows: list[PersonRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_people(
    data: bytes | str,
    fmt: Format,
    alias_domains: frozenset[str] = frozenset(),
    max_rows: int = MAX_ROWS,
) -> ParsedFile:
    """Every row of the file: valid ones as `PersonRow`s, the others as `RowError`s."""
    text = _text(data)
    records = _csv_records(text) if fmt == "csv" else _jsonl_records(text)
    parsed, seen = ParsedFile(), dict[str, int]()
    for count, (line, record) in enumerate(records, start=1):
        if count > max_rows:
            raise InvalidImport("file", f"more than {max_rows} rows")
        if isinstance(record, RowError):
            parsed.errors.append(record)
            continue
        person, errors = _person(line, record, alias_domains)
        if person is not None and person.employee_id in seen:
            first = seen[person.employee_id]
            errors = [RowError(line, "employee_id", f"appears again (first on line {first})")]
        if errors or person is None:
            parsed.errors += errors
            continue
        seen[person.employee_id] = line
        parsed.rows.append(PersonRow(line, person))
    return parsed


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidImport("file", f"not UTF-8 (byte {error.start})") from None


# -- the two formats, as (line, {field: raw value}) records ---------------------------------

Record = tuple[int, "Mapping[str, Any] | RowError"]


def _csv_records(text: str) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    _check_header(header)
    start = reader.line_num + 1
    for values in reader:
        line, start = start, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield line, RowError(line, "row", f"{len(values)} values for {len(header)} columns")
            continue
        record = {
            name: _csv_value(name, value) for name, value in zip(header, values, strict=False)
        }
        yield line, record


def _check_header(header: list[str]) -> None:
    if "employee_id" not in header:
        raise InvalidImport("header", "the employee_id column is required (line 1)")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise InvalidImport("header", f"unknown column {unknown[0]!r} (line 1)")
    twice = [name for name in header if header.count(name) > 1]
    if twice:
        raise InvalidImport("header", f"column {twice[0]!r} appears twice (line 1)")


def _csv_value(name: str, value: str) -> Any:
    """CSV cells are text: the list columns are split here, so both formats validate alike."""
    if not value.strip():
        return None
    if name == "other_emails":
        return [v for v in value.split(";") if v.strip()]
    if name == "accounts":
        return [_csv_account(part) for part in value.split(";") if part.strip()]
    return value


def _csv_account(part: str) -> Any:
    home, bar, name = part.partition("|")
    return {"home_page": home, "name": name} if bar else part


def _jsonl_records(text: str) -> Iterator[Record]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = decode_json(raw)
        except JSONInputError as error:
            yield line, RowError(line, "row", error.message)
            continue
        if not isinstance(value, dict):
            yield line, RowError(line, "row", "must be a JSON object")
            continue
        unknown = sorted(set(value) - set(COLUMNS))
        if unknown:
            yield line, RowError(line, unknown[0], "unknown field")
            continue
        yield line, value


# -- one record -> one person ---------------------------------------------------------------


def _person(
    line: int, record: Mapping[str, Any], alias_domains: frozenset[str]
) -> tuple[Person | None, list[RowError]]:
    errors: list[RowError] = []

    def check(name: str, convert: Any) -> Any:
        try:
            return convert(record.get(name))
        except ValueError as error:
            errors.append(RowError(line, name, str(error)))
            return None

    employee_id = check("employee_id", _required_text)
    email = check("email", lambda v: None if v is None else _email(v, alias_domains))
    emails = check("other_emails", lambda v: _emails(v, alias_domains))
    accounts = check("accounts", _accounts)
    optional = {n: check(n, _optional_text) for n in ("manager_id", "department", "job_code")}
    status = check("status", _status)
    if errors:
        return None, errors
    others = tuple(e for e in dict.fromkeys(emails or ()) if e != email)
    person = Person(employee_id, email, others, accounts or (), status=status, **optional)
    return person, []


def _required_text(value: Any) -> str:
    text = _optional_text(value)
    if text is None:
        raise ValueError("is required")
    return text


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON Lines exports often carry numeric ids
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text or None


def _email(value: Any, alias_domains: frozenset[str]) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    try:
        return normalise_email(value, alias_domains)
    except ValueError as error:
        raise ValueError(f"{value.strip()[:80]!r} {error}") from None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("must be a list")
    if len(value) > MAX_LIST:
        raise ValueError(f"at most {MAX_LIST} entries")
    return value


def _emails(value: Any, alias_domains: frozenset[str]) -> tuple[str, ...]:
    return tuple(_email(v, alias_domains) for v in _list(value))


def _accounts(value: Any) -> tuple[tuple[str, str], ...]:
    accounts: list[tuple[str, str]] = []
    for entry in _list(value):
        if not isinstance(entry, dict) or set(entry) != {"home_page", "name"}:
            raise ValueError("each account needs a home page and a name (home_page|name)")
        home, name = entry["home_page"], entry["name"]
        if not (isinstance(home, str) and isinstance(name, str) and name.strip()):
            raise ValueError("an account's home page and name must be non-empty strings")
        try:
            accounts.append((normalise_home_page(home), name.strip()))
        except ValueError as error:
            raise ValueError(f"home page {home.strip()[:80]!r} {error}") from None
    return tuple(dict.fromkeys(accounts))


def _status(value: Any) -> str:
    text = _optional_text(value)
    return "active" if text is None else text.lower()
