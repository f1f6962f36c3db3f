"""Small builders for the JSON Schemas in the document, and the schemas every API shares."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ANY_OBJECT: Schema = {"type": "object"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema, **more: Any) -> Schema:
    return {"type": "array", "items": items, **more}


def obj(required: tuple[str, ...] = (), /, **properties: Schema) -> Schema:
    """An object with these properties; `required` lists those always present. It stays
    open: a new field in an answer is not a breaking change."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def closed(schema: Schema) -> Schema:
    """For a request body whose parser refuses unknown fields."""
    return {**schema, "additionalProperties": False}


ERROR: Schema = obj(
    ("error", "message", "details"),
    error=STRING,
    message=STRING,
    details=nullable(ANY_OBJECT),
)
"""`{"error", "message", "details"}`: every error body (lrs.errors); `details` names the
field or parameter and the rule where there is one."""

ERROR_REF: Schema = {"$ref": "#/components/schemas/Error"}
