"""Waiting on a condition instead of sleeping a fixed time.

Background work (a deferred publish, a key upgrade, a periodic job) finishes when the machine
gets to it; a test waits for its effect and asserts what it did, never how fast. The bound
only keeps a broken build from hanging: it is generous, and speed is measured in `bench/`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 120.0
"""Seconds before a wait fails: far beyond any loaded machine, short of a hung CI job."""


async def eventually(probe: Callable[[], Awaitable[T]], what: str, *, poll: float = 0.02) -> T:
    """The first truthy result of `probe`, polled until it comes; fails naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"still waiting after {PATIENCE:.0f} s for {what}")
        await asyncio.sleep(poll)
