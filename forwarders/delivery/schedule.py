"""When to try again: exponential backoff with jitter, `Retry-After` honoured.

The default schedule is 5 s x 4^n capped at 6 h: 5 s, 20 s, 80 s, 5 min, 21 min, 85 min,
5.7 h, then 6 h three times: 11 attempts spread over about 25 hours. `delays` is the whole
schedule, so an operator can set it outright (`parse_schedule("5s,5m,30m,2h,5h,10h,10h")`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def exponential(
    base: float = 5.0, factor: float = 4.0, cap: float = 6 * 3600.0, retries: int = 10
) -> tuple[float, ...]:
    return tuple(min(cap, base * factor**n) for n in range(retries))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    delays: tuple[float, ...] = exponential()
    """The wait before retry n (n = 1, 2, ...); there are len(delays) + 1 attempts in all."""
    jitter: float = 0.2
    """Each delay is drawn uniformly within +/- this fraction, so retries do not stampede."""
    max_retry_after: float = 24 * 3600.0
    """A receiver's `Retry-After` is followed up to this many seconds."""

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1


DEFAULT_POLICY = RetryPolicy()


def next_delay(
    attempt: int,
    retry_after: float | None,
    rng: random.Random,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> float | None:
    """Seconds to wait after failed attempt number `attempt` (1-based); None: give up.

    A `Retry-After` replaces the computed delay (the receiver knows best), bounded by
    `policy.max_retry_after`; it does not add attempts.
    """
    if attempt >= policy.max_attempts:
        return None
    if retry_after is not None:
        return max(0.0, min(retry_after, policy.max_retry_after))
    delay = policy.delays[max(0, attempt - 1)]
    return delay * (1 + policy.jitter * (2 * rng.random() - 1))


def parse_schedule(text: str) -> tuple[float, ...]:
    """`"5s,5m,2h,1d"` -> seconds. Raises ValueError on anything else."""
    delays = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", part)
        if match is None:
            raise ValueError(f"not a delay: {part!r} (use e.g. 30s, 5m, 2h, 1d)")
        delays.append(float(match[1]) * UNITS[match[2] or "s"])
    return tuple(delays)
