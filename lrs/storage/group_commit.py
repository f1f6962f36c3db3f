"""Group commit: concurrent single writes share one database write.

A client that sends one statement per request pays a journaled round trip (or several) per
statement, while a batch pays them once for a hundred. `GroupCommit` coalesces: a write that
arrives while the group's write is in flight waits for it to finish and then goes out with
every other write that arrived meanwhile (at most `limit` at a time). A write that arrives
while nothing is in flight goes out at once, alone, so a lone client waits for nothing.

Each member keeps its own outcome: the group's `write` returns one outcome per member
(`None`, or the exception that member's request raises), so a member that conflicts fails
alone. An exception raised by `write` itself (the database went away) is every member's
answer: none of them is acknowledged, whatever part of the group may have been stored, as
for a single write whose acknowledgement was lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
Outcome = BaseException | None
Write = Callable[[list[T]], Awaitable[Sequence[Outcome]]]


class WriteInterrupted(RuntimeError):
    """The group's writer stopped (shut down) before this member's write finished."""


class GroupCommit(Generic[T]):
    def __init__(
        self,
        write: Write[T],
        *,
        limit: int,
        depth: int = 1,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        self._write = write
        self.limit = limit
        self.depth = depth
        """Group writes in flight at once."""
        self.on_group = on_group
        """Told the size of each group as it goes out (for metrics)."""
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self.writers: set[asyncio.Task[None]] = set()
        self.groups = 0
        """Database writes made so far (each for one or more members)."""

    async def submit(self, item: T) -> None:
        """Write `item` with whichever others are waiting; return once it is durable (or
        raise its own error)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        # a writer that has answered its last member may be done and not yet discarded
        if sum(not writer.done() for writer in self.writers) < self.depth:
            writer = asyncio.create_task(self._drain())
            self.writers.add(writer)
            writer.add_done_callback(self.writers.discard)
        await future

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
            if self.on_group is not None:
                self.on_group(len(group))
            try:
                outcomes = await self._outcomes([item for item, _ in group])
            except BaseException:
                _answer(group, [WriteInterrupted("the write was interrupted")] * len(group))
                _answer(self._waiting, [WriteInterrupted("shutting down")] * len(self._waiting))
                self._waiting = []
                raise
            self.groups += 1
            _answer(group, outcomes)

    async def _outcomes(self, items: list[T]) -> Sequence[Outcome]:
        try:
            outcomes = await self._write(items)
        except Exception as error:  # noqa: BLE001 - becomes every member's own answer
            return [error] * len(items)
        if len(outcomes) != len(items):
            raise AssertionError("a group write must answer every member")
        return outcomes


def _answer(group: list[tuple[T, asyncio.Future[None]]], outcomes: Sequence[Outcome]) -> None:
    for (_, future), outcome in zip(group, outcomes, strict=True):
        if future.done():  # its request was cancelled (the client went away)
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
