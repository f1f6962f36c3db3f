"""Errors of the forwarding admin API, inside the one domain family (`statements.errors`), so
the service's single error handler maps them to 400 / 404 without a table of its own."""

from __future__ import annotations

from typing import Any

from statements.errors import BadRequest, NotFound


class InvalidForwarder(BadRequest):
    error = "invalid_forwarder"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", {"field": field})
        self.field = field


class ForwarderNotFound(NotFound):
    def __init__(self, forwarder_id: str) -> None:
        super().__init__(f"no forwarder {forwarder_id}", {"forwarder": forwarder_id})


class EventNotFound(NotFound):
    def __init__(self, event_id: str, details: Any = None) -> None:
        super().__init__(f"no event {event_id}", details or {"event": event_id})


class InvalidImport(BadRequest):
    """An identity import file that cannot be read as a whole (bad rows are reported, not
    raised): nothing is imported."""

    error = "invalid_import"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", {"field": field})
        self.field = field


class PersonNotFound(NotFound):
    def __init__(self, employee_id: str) -> None:
        super().__init__(f"no person {employee_id}", {"employee_id": employee_id})
