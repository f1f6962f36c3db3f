"""Query parameters declared once, as a table the handler reads them with and the OpenAPI
document describes them from.

An `IntParam` parses with `statements.int_params.parse_int_param` (so its 400 is the one
every integer parameter has); a `TextParam` hands the raw value back for the handler's own
check, and carries the bounds that check uses, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from statements.int_params import parse_int_param


class QueryParam(Protocol):
    @property
    def name(self) -> str: ...

    def spec(self) -> dict[str, Any]:
        """The OpenAPI Parameter Object."""
        ...


def _spec(
    name: str, description: str, required: bool, schema: dict[str, Any], example: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if example is not None:
        spec["example"] = example
    return spec


@dataclass(frozen=True, slots=True)
class IntParam:
    name: str
    description: str
    default: int
    minimum: int
    maximum: int

    def read(self, query: Mapping[str, str]) -> int:
        return parse_int_param(
            self.name,
            query.get(self.name),
            default=self.default,
            minimum=self.minimum,
            maximum=self.maximum,
        )

    def spec(self) -> dict[str, Any]:
        schema = {
            "type": "integer",
            "minimum": self.minimum,
            "maximum": self.maximum,
            "default": self.default,
        }
        return _spec(self.name, self.description, False, schema, None)


@dataclass(frozen=True, slots=True)
class TextParam:
    name: str
    description: str
    required: bool = False
    min_length: int = 0
    max_length: int | None = None
    pattern: str | None = None
    enum: Sequence[str] | None = None
    format: str | None = None
    example: str | None = None

    def read(self, query: Mapping[str, str]) -> str | None:
        return query.get(self.name)

    def spec(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.format is not None:
            schema["format"] = self.format
        return _spec(self.name, self.description, self.required, schema, self.example)
