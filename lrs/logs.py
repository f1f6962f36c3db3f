"""Logging for the service: JSON lines (or text for a terminal), a request id, no secrets.

`configure_logging` installs one handler on the root logger and routes uvicorn's loggers
through it, so every line — ours, uvicorn's, pymongo's — passes the same two filters:

- `RequestIdFilter` stamps each record with the id of the request being served (a
  contextvar the request-id middleware sets; `None` outside a request);
- `MaskingFilter` rewrites the message (and any traceback) so that credentials never reach
  a log: Authorization header values, Basic/Bearer credentials, JWT-looking strings,
  `whsec_` signing secrets and the values of `secret`/`password`/`token`-like fields.

Masking is a safety net, not a licence: code should still never log a secret on purpose.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

import orjson

LogFormat = Literal["json", "text", "auto"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text", "auto")
MASK = "***"

request_id_var: ContextVar[str | None] = ContextVar("lrs_request_id", default=None)
"""The id of the request being served (set by `lrs.http.edge`)."""

# field names whose values are masked (a pattern of names, not a secret itself)
SECRET_NAME = r"[\w-]*(?:secret|passw(?:or)?d|token|api[_-]?key|authorization)[\w-]*"  # noqa: S105
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `Basic dXNlcjpwYXNz`, `Bearer eyJ...`: the scheme stays, the credential goes
    (re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{MASK}"),
    # JWT-looking strings: three base64url segments, the first a JSON object (`eyJ`)
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # Standard Webhooks signing secrets
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]*"), f"whsec_{MASK}"),
    # `"secret": "x"`, `'password': 'x'`, `token=x`, `Authorization: x` (quoted or not)
    (
        re.compile(rf"(?i)([\"']?\b{SECRET_NAME}[\"']?\s*[:=]\s*)([\"'])(?:\\.|(?!\2).)*\2"),
        rf"\1\2{MASK}\2",
    ),
    (
        re.compile(rf"(?i)([\"']?\b{SECRET_NAME}[\"']?\s*[:=]\s*)(?![\"'\s])[^\s,;&}}\]]+"),
        rf"\1{MASK}",
    ),
)
_SECRET_KEY = re.compile(rf"(?i)^{SECRET_NAME}$")
_SUSPECT = re.compile(r"(?i)basic|bearer|eyJ|whsec_|secret|passw|token|api[_-]?key|authorization")
"""Every pattern above needs one of these words: most lines have none and skip the rest."""


def mask(text: str) -> str:
    """`text` with every credential-looking part replaced by `***`."""
    if not _SUSPECT.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_value(key: str, value: Any) -> Any:
    """A structured field's value, masked by its name (`secret`, ...) or its content."""
    if _SECRET_KEY.match(key):
        return MASK
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {str(k): mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value("", v) for v in value]
    return value


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class MaskingFilter(logging.Filter):
    """Masks the rendered message and traceback once, before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_lrs_masked", False):
            return True
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            record.fields = {str(k): mask_value(str(k), v) for k, v in fields.items()}
        record._lrs_masked = True
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """For a human at a terminal: `time level logger [request id] message key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        fields = getattr(record, "fields", None)
        extra = ""
        if isinstance(fields, Mapping):
            extra = "".join(f" {k}={v}" for k, v in fields.items())
        head = f"{_timestamp(record)} {record.levelname} {record.name}"
        text = f"{head}{f' [{request_id}]' if request_id else ''}: {record.getMessage()}{extra}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return f"{text}\n{record.exc_text}" if record.exc_text else text


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def resolved_format(name: LogFormat, stream: Any) -> Literal["json", "text"]:
    """`auto`: text for a terminal, JSON lines otherwise (containers, files, pipes)."""
    if name != "auto":
        return name
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


class _Stderr:
    """Whatever `sys.stderr` is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    log_format: LogFormat = "auto", level: str = "info", stream: IO[str] | None = None
) -> logging.Handler:
    """Route every logger through one masked, request-stamped handler (idempotent)."""
    out: Any = stream if stream is not None else _Stderr()
    handler: logging.StreamHandler[Any] = logging.StreamHandler(out)
    handler.set_name("lrs")
    chosen = resolved_format(log_format, out)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "lrs"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # our access log replaces uvicorn's (which would repeat each request, without the route)
    logging.getLogger("uvicorn.access").disabled = True
    return handler


def with_fields(**fields: Any) -> dict[str, Any]:
    """`extra=` for a structured line: `log.info("...", extra=with_fields(status=200))`."""
    return {"fields": fields}
