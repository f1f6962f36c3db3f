"""What every xAPI request shares: the version header, the Consistent-Through clock and the
request id (applied by `lrs.http.admission` and `lrs.http.edge`)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.types import Scope

from statements.errors import UnsupportedVersion
from statements.types import SpecVersion

VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
STATEMENTS_PATH = "/xapi/statements"
XAPI_PREFIX = "/xapi"
UNVERSIONED = frozenset({"/xapi/about", "/xapi/about/"})


def spec_version(header: str | None) -> SpecVersion:
    """Map a request's version header to the spec family we apply (1.0.x -> 1.0.3)."""
    if header is None:
        raise UnsupportedVersion("the X-Experience-API-Version header is required")
    value = header.strip()
    if value in ("2.0.0", "2.0"):
        return "2.0.0"
    if value in ("1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3"):
        return "1.0.3"
    raise UnsupportedVersion(
        f"X-Experience-API-Version {value!r} is not supported (use 2.0.0 or 1.0.x)",
        {"supported": ["2.0.0", "1.0.3"]},
    )


class MillisecondClock:
    """The current time as an ISO 8601 string with milliseconds, for the Consistent-Through
    header of every statements answer. The second's prefix is formatted once a second (a
    `strftime` was 4 % of a single statement's API time) and the milliseconds appended."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        ms = int(self.now() * 1000)
        second, millis = divmod(ms, 1000)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second, self._prefix = second, moment.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{millis:03d}Z"


def is_xapi_path(path: str) -> bool:
    return path == XAPI_PREFIX or path.startswith(XAPI_PREFIX + "/")


def raw_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower-case) as `Headers.get` gives it, read from the
    raw list without building a `Headers` (the hot path reads a few headers per request)."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
"""An accepted `X-Request-ID`: bounded, and of characters that need no escaping anywhere
(UUIDs, ULIDs, W3C trace ids, proxies' ids); anything else is replaced by a new id."""


def request_id_from(header: str | None) -> str:
    return header if header and REQUEST_ID.fullmatch(header) else secrets.token_hex(16)
