"""Group commit: concurrent single writes share one database write.

A client that sends one statement per request pays a journaled round trip (or several) per
statement, while a batch pays them once for a hundred. `GroupCommit` coalesces: a write that
arrives while the group's write is in flight waits for it to finish and then goes out with
every other write that arrived meanwhile (at most `limit` at a time). A write that arrives
while nothing is in flight goes out at once, alone, so a lone client waits for nothing.

A write that would start while another group is being written first lets the requests
that are ready run up to their `submit` (at most `window` seconds), so they share its write
instead of each starting a later one: the database is busy with the other group anyway. A
write with nothing in flight goes out at once, so a lone client never waits.

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
        window: float = 0.0,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        self._write = write
        self.limit = limit
        self.depth = depth
        """Group writes in flight at once."""
        self.window = window
        """The longest a write waits, while another is being written, for requests ready to
        join it (seconds; 0: never)."""
        self._writing = 0
        """Group writes under way (between taking their members and answering them)."""
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
            group: list[tuple[T, asyncio.Future[None]]] = []
            try:
                await self._gather()
                group, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
                if self.on_group is not None:
                    self.on_group(len(group))
                self._writing += 1
                try:
                    outcomes = await self._outcomes([item for item, _ in group])
                finally:
                    self._writing -= 1
            except BaseException:
                _answer(group, [WriteInterrupted("the write was interrupted")] * len(group))
                _answer(self._waiting, [WriteInterrupted("shutting down")] * len(self._waiting))
                self._waiting = []
                raise
            self.groups += 1
            _answer(group, outcomes)

    async def _gather(self) -> None:
        """While another group is being written, yield to the event loop as long as that
        adds members (at most `window` seconds): requests whose bytes have come in run up
        to their `submit`. The database is busy with the other group anyway, so nobody waits
        for it to be free. Two passes in a row that add nobody end it (a request is read in
        one pass and runs in the next)."""
        if self.window <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline, quiet = loop.time() + self.window, 0
        while quiet < 2 and self._writing and len(self._waiting) < self.limit:
            if loop.time() >= deadline:
                return
            before = len(self._waiting)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self._waiting) == before else 0

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
