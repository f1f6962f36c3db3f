"""The named transforms of a mapping template, applied to a source value before its data type.

| transform               | does                                                              |
| ----------------------- | ----------------------------------------------------------------- |
| `lowercase_email`       | strips `mailto:` and surrounding space, lowercases                |
| `normalize_score_0_100` | an xAPI score object -> 0..100 (`scaled` x 100, else `raw` within |
|                         | `min` (default 0)..`max`); a bare number is a `scaled` (-1..1)    |
| `parse_iso8601`         | an ISO 8601 date-time -> the instant in UTC                       |
| `iso_date`              | a date or date-time -> its day (`YYYY-MM-DD`, in UTC)             |
| `lowercase`, `uppercase`, `trim` | the obvious string operations                            |
| `constant:<value>`      | `<value>`, whatever the source (the source field may be empty)    |
| `lookup:<table>`        | the value(s) of the key in a lookup table (absent when no row)    |

A transform of a list applies to each element (a lookup flattens the values it finds).
Errors are `TransformError`: the renderer names the template row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from forwarders.events import clamped_percent, score_percent
from forwarders.mapping.datatypes import CoercionError, to_date, to_datetime

Lookups = Mapping[str, Mapping[str, tuple[str, ...]]]
"""Table name -> key -> its values (a key on several rows has several values)."""


class TransformError(ValueError):
    """A value the transform cannot handle."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TransformError(f"{name} needs a string, got {type(value).__name__}")
    return value


def lowercase_email(value: Any) -> str:
    text = _text(value, "lowercase_email").strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return text.strip().lower()


def normalize_score_0_100(value: Any) -> float:
    """0..100, rounded to two decimals; a negative score counts as 0."""
    if _is_number(value):
        if not -1 <= value <= 1:
            raise TransformError(f"a bare score must be a scaled score (-1..1), got {value}")
        return clamped_percent(float(value))  # a bare number is a scaled score
    if not isinstance(value, Mapping):
        raise TransformError("normalize_score_0_100 needs a score object or a number")
    percent = score_percent(value)
    if percent is None:
        raise TransformError("a score needs `scaled`, or `raw` with `max` above `min`")
    return percent


def parse_iso8601(value: Any) -> Any:
    try:
        return to_datetime(value)
    except CoercionError as error:
        raise TransformError(str(error)) from None


def iso_date(value: Any) -> str:
    try:
        return to_date(value).isoformat()
    except CoercionError as error:
        raise TransformError(str(error)) from None


NAMED: dict[str, Callable[[Any], Any]] = {
    "lowercase_email": lowercase_email,
    "normalize_score_0_100": normalize_score_0_100,
    "parse_iso8601": parse_iso8601,
    "iso_date": iso_date,
    "lowercase": lambda value: _text(value, "lowercase").lower(),
    "uppercase": lambda value: _text(value, "uppercase").upper(),
    "trim": lambda value: _text(value, "trim").strip(),
}
PARAMETRISED = ("constant", "lookup")


@dataclass(frozen=True, slots=True)
class Transform:
    name: str
    argument: str | None = None

    def __str__(self) -> str:
        return self.name if self.argument is None else f"{self.name}:{self.argument}"


def parse_transform(text: str) -> Transform | None:
    """The transform named by a template cell (None for an empty cell); raises ValueError."""
    text = text.strip()
    if not text:
        return None
    name, colon, argument = text.partition(":")
    name = name.strip()
    if name in NAMED and not colon:
        return Transform(name)
    if name == "constant" and colon:
        if not argument:
            raise ValueError("constant: needs a value (constant:<value>)")
        return Transform(name, argument)
    if name == "lookup" and colon and argument.strip():
        return Transform(name, argument.strip())
    known = ", ".join([*NAMED, "constant:<value>", "lookup:<table>"])
    raise ValueError(f"unknown transform {text!r} (known: {known})")


def _lookup(table: Mapping[str, tuple[str, ...]], value: Any) -> Any:
    if isinstance(value, list):
        return [found for item in value for found in table.get(_key(item), ())]
    values = table.get(_key(value), ())
    return None if not values else values[0] if len(values) == 1 else list(values)


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TransformError(f"a lookup key must be a string or a number, got {type(value).__name__}")


def apply(transform: Transform | None, value: Any, lookups: Lookups) -> Any:
    """`value` through `transform`; None (absent) stays None except for a constant."""
    if transform is None:
        return value
    if transform.name == "constant":
        return transform.argument
    if value is None:
        return None
    if transform.name == "lookup":
        return _lookup(lookups[str(transform.argument)], value)
    function = NAMED[transform.name]
    if isinstance(value, list):
        return [function(item) for item in value if item is not None]
    return function(value)
