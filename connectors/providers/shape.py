"""Reading a provider's JSON: typed field access that names what is wrong (a 400's reason)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MAX_TEXT = 1024


class ShapeError(ValueError):
    """The body is not the provider's shape; the message says which field and why."""


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{path} must be an object")
    return value


def text(container: dict[str, Any], name: str, path: str, *, required: bool = True) -> str:
    value = container.get(name)
    if value is None or value == "":
        if required:
            raise ShapeError(f"{path}.{name} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ShapeError(f"{path}.{name} must be a string")
    result = str(value)
    if len(result) > MAX_TEXT:
        raise ShapeError(f"{path}.{name} is longer than {MAX_TEXT} characters")
    return result


def moment(
    container: dict[str, Any], name: str, path: str, *, required: bool = True
) -> datetime | None:
    raw = text(container, name, path, required=required)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ShapeError(f"{path}.{name} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ShapeError(f"{path}.{name} must carry a time zone")
    return parsed.astimezone(UTC)


def minutes(container: dict[str, Any], name: str, path: str) -> int | None:
    value = container.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise ShapeError(f"{path}.{name} must be a whole number of minutes")
    return value or None
