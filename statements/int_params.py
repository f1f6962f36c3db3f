"""Integer query parameters (`limit` and the like): one parser for every resource.

Only ASCII digits are an integer here. `str.isdigit()` also accepts `²` or `١٢`, which
`int()` then refuses, and `int()` refuses more than 4,300 digits (Python's guard against
quadratic conversion): both were 500s. The parser never converts more digits than the
bound has, so neither can happen, and a value out of range is a 400 naming the parameter
and the rule, or, where the parameter is only a ceiling (the statements `limit`), the bound.
"""

from __future__ import annotations

import re

from statements.errors import InvalidQuery

RULE = "integer.range"
_DIGITS = re.compile(r"[0-9]+\Z", re.ASCII)


def parse_int_param(
    name: str,
    raw: str | None,
    *,
    default: int,
    minimum: int,
    maximum: int,
    clamp: bool = False,
) -> int:
    """`raw` as an int from `minimum` to `maximum`, `default` when absent.

    With `clamp`, a value above `maximum` is `maximum` (the parameter asks for "at most
    this many" and the server serves fewer); without, it is refused like any other.
    """
    if raw is None:
        return default
    if _DIGITS.match(raw) is None:
        raise _out_of_range(name, minimum, maximum)
    digits = raw.lstrip("0") or "0"
    value = maximum + 1 if len(digits) > len(str(maximum)) else int(digits)
    if value > maximum and clamp:
        return maximum
    if not minimum <= value <= maximum:
        raise _out_of_range(name, minimum, maximum)
    return value


def _out_of_range(name: str, minimum: int, maximum: int) -> InvalidQuery:
    return InvalidQuery(name, f"must be an integer from {minimum} to {maximum}", rule=RULE)
