"""Brute-force resistance: failed authentications counted per key and per client address.

A sliding window per bucket: when a key (or an address) has `threshold` failures younger
than `window` seconds, further attempts with it are refused with 429 before any secret is
checked (so a locked-out guess costs no scrypt and tells nothing), until the oldest failure
leaves the window. The lock applies to the right secret too: otherwise the answer would
still tell the attacker when a guess was right.

Per process and in memory: N replicas allow N times the threshold, and a restart forgets.
That bounds guessing well enough for secrets of 192 random bits; a shared store would be
needed for an exact global count. Memory is bounded: at most `max_buckets` buckets, each at
most `threshold` timestamps; when full, expired buckets go first, then the oldest.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from statements.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Lockout:
    what: str
    """`key` or `address`."""
    retry_after: int


class FailureWindow:
    def __init__(
        self,
        *,
        threshold: int,
        window: float,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.max_buckets = max_buckets
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, bucket: str) -> int | None:
        """Seconds until `bucket` may try again, or None when it is not locked."""
        failures = self._failures.get(bucket)
        if failures is None:
            return None
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.threshold:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))

    def fail(self, bucket: str) -> None:
        if bucket not in self._failures and len(self._failures) >= self.max_buckets:
            self._evict()
        failures = self._failures.setdefault(bucket, deque(maxlen=self.threshold))
        failures.append(self.clock())

    def clear(self, bucket: str) -> None:
        self._failures.pop(bucket, None)

    def __bool__(self) -> bool:
        """Whether any failure is remembered: while none is, a bucket's name (a hash) need
        not be computed to know it is not locked."""
        return bool(self._failures)

    def _evict(self) -> None:
        horizon = self.clock() - self.window
        for bucket in [b for b, f in self._failures.items() if not f or f[-1] <= horizon]:
            del self._failures[bucket]
        while len(self._failures) >= self.max_buckets:
            del self._failures[next(iter(self._failures))]


def _bucket(kind: str, value: str) -> str:
    """A fixed-size bucket name: a key from a header may be arbitrarily long."""
    return kind + ":" + hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


class FailureLimiter:
    """The two windows together: per credential key and per client address."""

    def __init__(
        self,
        *,
        per_key: int,
        per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = FailureWindow(threshold=per_key, window=window, clock=clock)
        self.addresses = FailureWindow(threshold=per_address, window=window, clock=clock)

    def check(self, key: str | None, address: str | None) -> None:
        """Raise TooManyRequests when the key or the address is locked out."""
        lockout = self.lockout(key, address)
        if lockout is not None:
            raise TooManyRequests(
                f"too many failed authentications for this {lockout.what}; "
                f"retry in {lockout.retry_after} s",
                lockout.retry_after,
            )

    def lockout(self, key: str | None, address: str | None) -> Lockout | None:
        # every authenticated request asks, and nearly always nothing has failed lately:
        # then no bucket name is hashed (three BLAKE2 digests per request otherwise)
        if key is not None and self.keys:
            wait = self.keys.retry_after(_bucket("key", key))
            if wait is not None:
                return Lockout("key", wait)
        if address is not None and self.addresses:
            wait = self.addresses.retry_after(_bucket("address", address))
            if wait is not None:
                return Lockout("address", wait)
        return None

    def fail(self, key: str | None, address: str | None) -> None:
        if key is not None:
            self.keys.fail(_bucket("key", key))
        if address is not None:
            self.addresses.fail(_bucket("address", address))

    def succeed(self, key: str) -> None:
        """A right secret clears its key's failures (the address keeps its count)."""
        if self.keys:
            self.keys.clear(_bucket("key", key))
