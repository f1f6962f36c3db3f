"""What a delivery attempt means for the event (the Standard Webhooks status table).

- 2xx: delivered. Nothing else is success.
- 3xx: a failure, retried. Redirects are never followed: a signed body must not be re-sent
  to a host the forwarder was not configured with.
- 408, 425, 429, 5xx, timeouts and network errors: retried; `Retry-After` is honoured.
- 410 Gone: the endpoint is gone: pause the forwarder and dead-letter the event.
- Any other 4xx: dead-lettered at once (the request itself is refused; retrying won't help).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivered:
    pass


@dataclass(frozen=True, slots=True)
class RetryLater:
    after: float | None
    """Seconds the receiver asked us to wait (`Retry-After`), when it said."""
    reason: str


@dataclass(frozen=True, slots=True)
class EndpointGone:
    reason: str


@dataclass(frozen=True, slots=True)
class Dead:
    reason: str


Outcome = Delivered | RetryLater | EndpointGone | Dead


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `now`: `Retry-After` is either delta-seconds or an HTTP-date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # "²".isdigit() is true, float("²") fails
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def classify(
    status: int | None,
    *,
    retry_after: str | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """`status` is None when no response came (timeout, refused, reset, blocked address)."""
    if status is None:
        return RetryLater(None, error or "no response")
    if 200 <= status < 300:
        return Delivered()
    if status == 410:
        return EndpointGone("410 Gone: the endpoint was removed")
    if 300 <= status < 400:
        return RetryLater(None, f"{status} redirect (not followed)")
    if status >= 500 or status in RETRYABLE_4XX:
        after = parse_retry_after(retry_after, now or datetime.now(UTC))
        return RetryLater(after, f"{status} response")
    return Dead(f"{status} response")
