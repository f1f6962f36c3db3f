"""Turns inbox events into statements, after the provider has had its answer.

`drain()` claims due events one by one until none is left (tests call it directly, as arq's
burst mode); `run(stop)` drains whenever `wake()` is called or every `poll_seconds`. Moves
become joined/left statements at once; `meeting.ended` is due `settle` after it arrived, so
leave events Zoom sends just after the end are in the inbox when attendance is computed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from connectors import attendance
from connectors.inbox import DONE, FAILED, Claimed, Inbox
from connectors.model import Connector, MeetingEvent
from connectors.store import ConnectorStore
from statements.errors import XAPIError

log = logging.getLogger("connectors")


class StatementSink(Protocol):
    """Where statements go: `lrs` implements it with its ingest path (validation, authority)."""

    async def __call__(
        self, connector: Connector, statements: Sequence[dict[str, Any]]
    ) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Processor:
    def __init__(
        self,
        inbox: Inbox,
        store: ConnectorStore,
        sink: StatementSink,
        *,
        clock: Callable[[], datetime] = _now,
        poll_seconds: float = 5.0,
        batch: int = 100,
    ) -> None:
        self.inbox = inbox
        self.store = store
        self.sink = sink
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wakeup = asyncio.Event()
        self._draining = asyncio.Lock()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("connector processing failed; retrying after the poll interval")
            self._wakeup.clear()
            waiters = {
                asyncio.ensure_future(self._wakeup.wait()),
                asyncio.ensure_future(stop.wait()),
            }
            _, pending = await asyncio.wait(
                waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def drain(self, now: datetime | None = None) -> int:
        """Process every due event; returns how many. Concurrent drains take turns."""
        done = 0
        async with self._draining:
            while claimed := await self.inbox.claim(now or self.clock(), self.batch):
                moves = [c for c in claimed if c.event.kind in ("joined", "left")]
                await self._moves(moves)
                for other in claimed:
                    if other not in moves:
                        await self._process(other.inbox_id, other.connector_id, other.event)
                done += len(claimed)
        return done

    async def _moves(self, claimed: list[Claimed]) -> None:
        """Joins and leaves, a connector's worth in one ingest batch (a join storm is one
        write per `batch` events, not one per event); when the batch is refused, one by one,
        so only the event at fault fails."""
        by_connector: dict[str, list[Claimed]] = {}
        for item in claimed:
            by_connector.setdefault(item.connector_id, []).append(item)
        for connector_id, items in by_connector.items():
            if not await self._write_moves(connector_id, items):
                for item in items:
                    await self._process(item.inbox_id, item.connector_id, item.event)

    async def _write_moves(self, connector_id: str, items: list[Claimed]) -> bool:
        """True when the whole batch was written and marked done."""
        connector = await self.store.by_id(connector_id)
        if connector is None:
            return False
        try:
            await self.sink(
                connector, [attendance.move_statement(connector, i.event) for i in items]
            )
        except XAPIError:
            return False
        await self.inbox.finish_all([i.inbox_id for i in items], DONE)
        return True

    async def _process(self, inbox_id: str, connector_id: str, event: MeetingEvent) -> None:
        connector = await self.store.by_id(connector_id)
        if connector is None:
            await self.inbox.finish(inbox_id, FAILED, "the connector was deleted")
            return
        try:
            statements, recorded = await self._statements(connector, event)
            await self.sink(connector, statements)
        except XAPIError as error:
            log.warning("connector %s event %s refused: %s", connector.name, inbox_id, error)
            await self.inbox.finish(inbox_id, FAILED, str(error)[:500])
            await self.store.note_failure(connector.id, str(error), self.clock())
            return
        await self.inbox.finish(inbox_id, DONE, **recorded)

    async def _statements(
        self, connector: Connector, event: MeetingEvent
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if event.kind in ("joined", "left"):
            return [attendance.move_statement(connector, event)], {}
        if event.kind == "recording":
            return [attendance.recording_statement(connector, event)], {}
        if event.kind != "ended":
            return [], {}  # `identified` is read when the meeting's attendance is computed
        return await self._end(connector, event)

    async def _end(
        self, connector: Connector, event: MeetingEvent
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Attendance at the end, from every stored event of the occurrence; a re-issued end
        (after reconciliation) revises what the previous end issued."""
        stored = await self.inbox.meeting(connector.id, event.instance)
        moves = [e for e in stored if e.kind in ("joined", "left")]
        identified = [e for e in stored if e.kind == "identified"]
        recording = next((e.recording_url for e in stored if e.kind == "recording"), "")
        previous, generation = await self.inbox.issued(connector.id, event.instance)
        result = attendance.outcome(connector, event, moves, recording, identified, previous)
        recorded = {
            "issued": [issued.as_doc() for issued in result.issued],
            "generation": generation + 1,
            "basis": attendance.basis(stored),
        }
        return result.statements, recorded
