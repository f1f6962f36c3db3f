"""The data types of a mapping template: each coerces a value to the JSON it is sent as.

Coercion is strict where a receiver would be misled and lenient where the meaning is plain:
"42" is the integer 42, 42.0 is 42, but 4.2 is not an integer and "maybe" is not a boolean.
A value that cannot be coerced raises `CoercionError`; the renderer names the template row.

| type     | sent as                          | accepts                                        |
| -------- | -------------------------------- | ---------------------------------------------- |
| string   | a string                         | strings, numbers, booleans ("true"/"false")    |
| integer  | an integer                       | integers, integral floats, digit strings       |
| number   | an integer or a float            | numbers and numeric strings (finite)           |
| boolean  | true / false                     | booleans, true/false/yes/no/1/0 (any case), 0/1 |
| date     | "YYYY-MM-DD"                     | dates, ISO 8601 dates and date-times (UTC day) |
| datetime | ISO 8601 in UTC, "...Z"          | date-times (aware, or naive read as UTC)       |
| email    | a string local@domain            | an address, with or without `mailto:`          |
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from statements.formats import parse_timestamp


class CoercionError(ValueError):
    """A value the data type cannot represent."""


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) or _is_number(value):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise CoercionError(f"{type(value).__name__} is not a string")


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
        return int(value)
    raise CoercionError(f"{value!r} is not an integer")


def _number(value: Any) -> int | float:
    if _is_number(value) and math.isfinite(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = float(value)
        except ValueError:
            parsed = math.nan
        if math.isfinite(parsed):
            return int(parsed) if re.fullmatch(r"\s*[+-]?\d+\s*", value) else parsed
    raise CoercionError(f"{value!r} is not a number")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise CoercionError(f"{value!r} is not a boolean")


def to_datetime(value: Any) -> datetime:
    """An aware datetime in UTC from a datetime or an ISO 8601 date-time string."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    parsed = parse_timestamp(value.strip()) if isinstance(value, str) else None
    if parsed is None:
        raise CoercionError(f"{value!r} is not an ISO 8601 date-time")
    return parsed.astimezone(UTC)


def to_date(value: Any) -> date:
    """The day of a date, an ISO 8601 date, or (in UTC) of a date-time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError(f"{value!r} is not a date") from None
    try:
        return to_datetime(value).date()
    except CoercionError:
        raise CoercionError(f"{value!r} is not an ISO 8601 date or date-time") from None


def _datetime(value: Any) -> str:
    return to_datetime(value).isoformat().replace("+00:00", "Z")


def _email(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    if not _EMAIL.fullmatch(text) or len(text) > 320:
        raise CoercionError(f"{value!r} is not an email address")
    return text


COERCIONS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": lambda value: to_date(value).isoformat(),
    "datetime": _datetime,
    "email": _email,
}
DATA_TYPES = tuple(COERCIONS)


def coerce(data_type: str, value: Any) -> Any:
    """`value` as the JSON of `data_type`; raises CoercionError."""
    return COERCIONS[data_type](value)
