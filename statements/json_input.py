"""Decoding JSON that comes from outside: one parser, one nesting limit, for every body and
parameter (statements, documents, admin bodies, multipart parts, `agent` parameters, JWS
payloads).

Why a limit of our own: orjson parses 1,024 levels but serialises only about 255, MongoDB
stores BSON up to 100, and every recursive step (schema validation, comparison, the canonical
format) spends Python stack per level. A value nested deeper than any later step handles
would be accepted, then fail with a 500 when it is served, merged or forwarded, on every
read. `MAX_DEPTH` sits well below all of them and well above any real statement (a statement
is about 6 levels deep, its extensions a few more), and input over it is refused as it is
decoded, before anything is stored.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 64
"""Most levels of nested objects and arrays in one JSON value (a bare `{}` is one level)."""


class JSONInputError(ValueError):
    """The input is not JSON (`json.syntax`) or nests deeper than `MAX_DEPTH` (`json.depth`).

    Each caller maps it to its own error (a 400 for a body, an `InvalidQuery` for a
    parameter, a violation for a signature), keeping `rule` and the message.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def decode_json(data: bytes | str) -> Any:
    """The decoded value; raises `JSONInputError` for invalid or too deeply nested JSON."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error) or "recursion" in str(error):  # orjson's own, 1,024
            raise _too_deep() from None
        raise JSONInputError("json.syntax", f"not valid JSON: {error}") from None
    if nesting_exceeds(value, MAX_DEPTH, len(data)):
        raise _too_deep()
    return value


def nesting_exceeds(value: Any, limit: int, size_hint: int | None = None) -> bool:
    """Whether `value` nests objects and arrays more than `limit` deep.

    Walks one level at a time, iteratively, so a deep value cannot exhaust the stack it is
    being checked for, and only containers are kept (about a third of orjson's parse time
    for a batch of statements). Going past `limit` takes at least `2 * (limit + 1)` encoded
    characters (`size_hint`), which skips the walk for small inputs.
    """
    if not isinstance(value, dict | list):
        return False
    if size_hint is not None and size_hint < 2 * (limit + 1):
        return False
    level: list[Any] = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level, depth = below, depth + 1
    return False


def _too_deep() -> JSONInputError:
    return JSONInputError(
        "json.depth", f"JSON nested more than {MAX_DEPTH} levels deep is not accepted"
    )
