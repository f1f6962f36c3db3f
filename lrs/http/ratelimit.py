"""Per-credential rate limits: a token bucket per credential key, answering 429.

Each credential may make `burst` requests at once and `rate` requests per second on
average. A refused request gets 429 with `Retry-After` (whole seconds until one token is
back) and the usual JSON error body. The buckets live in this process: with N API
replicas a credential gets up to N times the rate (divide the setting by the replica count,
or enforce a global limit at the reverse proxy). Off when `rate` is 0 (the default).

The bucket arithmetic is pure and takes the time as an argument, so it is tested without
sleeping; the middleware reads a monotonic clock it is given.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from lrs.errors import error_response
from lrs.settings import Settings
from statements.errors import TooManyRequests

MAX_BUCKETS = 10_000
"""Beyond this many keys, buckets that have refilled completely are forgotten (a full
bucket is the same as a new one, so forgetting it changes nothing)."""


@dataclass(slots=True)
class TokenBucket:
    rate: float
    """Tokens added per second."""
    burst: float
    """Capacity: the most requests allowed at once."""
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now


class RateLimiter:
    """Token buckets by key, created full on first use."""

    def __init__(self, rate: float, burst: int, max_buckets: int = MAX_BUCKETS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limiter needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_buckets = max_buckets
        self.buckets: dict[str, TokenBucket] = {}

    def check(self, key: str, now: float) -> float:
        """0.0 if `key` may go on now, else the seconds it must wait."""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_buckets:
                self._forget_full(now)
            bucket = TokenBucket(self.rate, self.burst, float(self.burst), now)
            self.buckets[key] = bucket
        return bucket.take(now)

    def _forget_full(self, now: float) -> None:
        for key in [k for k, b in self.buckets.items() if b.is_full(now)]:
            del self.buckets[key]


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """The limiter `settings` ask for, or None when rate limiting is off."""
    if settings.rate_limit_per_second <= 0:
        return None
    return RateLimiter(settings.rate_limit_per_second, settings.effective_rate_limit_burst)


def retry_after_seconds(wait: float) -> int:
    """`Retry-After` is whole seconds: round up, and never say 0 to a refused client."""
    return max(1, math.ceil(wait))


class RateLimit:
    """Refuses a credential that is over its rate with 429 (asked by `lrs.http.admission`
    after authentication); never refuses when no limiter is configured."""

    def __init__(
        self, limiter: RateLimiter | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limiter = limiter
        self.clock = clock

    def refusal(self, key: str) -> Response | None:
        """The 429 for credential `key` if it is over its rate now, else None."""
        if self.limiter is None:
            return None
        wait = self.limiter.check(key, self.clock())
        if wait <= 0:
            return None
        seconds = retry_after_seconds(wait)
        return error_response(
            TooManyRequests(
                f"rate limit of {self.limiter.rate:g} requests/s exceeded for this credential; "
                f"retry in {seconds} s",
                seconds,
            )
        )
