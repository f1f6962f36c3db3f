"""The connectors facade the HTTP layer and the CLI call: definitions and deliveries.

A delivery is handled in this order, and nothing is parsed before the signature is checked:
connector lookup (404) → the body, already read within a bound by the caller → signature and
timestamp (401, nothing stored) → the provider's shape (400 with the reason) → the inbox
(durable, deduplicated) → the answer. Statements are made later, by the Processor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from connectors import attendance, reconcile as reconciling
from connectors.inbox import Inbox
from connectors.model import Connector, MeetingEvent
from connectors.processor import Processor, StatementSink
from connectors.providers import reports, signing, teams, webex, zoom
from connectors.providers.graph import GraphClient
from connectors.providers.shape import ShapeError
from connectors.spec import parse_definition
from connectors.store import ConnectorStore
from forwarders.secretbox import SecretBox
from statements.errors import BadRequest, NotFound, Unauthenticated
from statements.json_input import JSONInputError, decode_json

MAX_DELIVERY_BYTES = 256 * 1024
"""Zoom and Webex events are a few kilobytes; the bound keeps the unauthenticated door small."""
MAX_VALIDATION_TOKEN = 1024
DEFAULT_SETTLE = timedelta(seconds=15)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TeamsPull:
    """Which Teams meeting to pull: Graph names a meeting by its organizer and its id."""

    organizer: str
    meeting: str
    report_id: str = ""
    topic: str = ""
    scheduled_minutes: int | None = None

    def extra(self) -> dict[str, Any]:
        found = {"topic": self.topic, "scheduled_minutes": self.scheduled_minutes}
        return {k: v for k, v in found.items() if v}


def _now() -> datetime:
    return datetime.now(UTC)


class ConnectorService:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        sink: StatementSink,
        *,
        secrets_key: str | None = None,
        public_url: str = "",
        on_delivery: Callable[[str, str], None] | None = None,
        clock: Callable[[], datetime] = _now,
        settle: timedelta = DEFAULT_SETTLE,
    ) -> None:
        self.store = ConnectorStore(db, SecretBox(secrets_key))
        self.inbox = Inbox(db)
        self.processor = Processor(self.inbox, self.store, sink, clock=clock)
        self.public_url = public_url.rstrip("/")
        self.on_delivery = on_delivery or (lambda kind, outcome: None)
        self.clock = clock
        self.settle = settle

    async def ensure_indexes(self) -> None:
        await self.store.ensure_indexes()
        await self.inbox.ensure_indexes()

    # -- definitions ----------------------------------------------------------------------

    def url(self, connector: Connector) -> str:
        return f"{self.public_url}/connectors/{connector.id}"

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        connector = await self.store.create(parse_definition(body), self.clock())
        return {**connector.as_dict(), "url": self.url(connector)}

    async def view(self, ref: str) -> dict[str, Any]:
        connector = await self.store.get(ref)
        inbox = await self.inbox.states(connector.id)
        return await self._health(connector, inbox)

    async def health(self) -> Sequence[dict[str, Any]]:
        """Every connector with its counters (accepted, rejected, failed, the last event and
        the last error, with times) and its inbox by state (`pending` = not yet statements):
        what an operator's console shows per connector."""
        inbox = await self.inbox.states()
        return [await self._health(c, inbox) for c in await self.store.all()]

    async def _health(
        self, connector: Connector, inbox: Mapping[str, Mapping[str, int]]
    ) -> dict[str, Any]:
        states = {state: 0 for state in ("pending", "done", "failed", "ignored")}
        return {
            **connector.as_dict(),
            "url": self.url(connector),
            "stats": _plain(await self.store.stats(connector.id)),
            "inbox": {**states, **inbox.get(connector.id, {})},
        }

    async def list(self) -> list[dict[str, Any]]:
        return [{**c.as_dict(), "url": self.url(c)} for c in await self.store.all()]

    async def delete(self, ref: str) -> None:
        connector = await self.store.delete(ref)
        await self.inbox.forget(connector.id)

    # -- deliveries -----------------------------------------------------------------------

    async def connector(self, connector_id: str) -> Connector:
        """The delivery's connector, looked up by id only (404, counted, when unknown)."""
        found = await self.store.by_id(connector_id)
        if found is None:
            self.on_delivery("unknown", "unknown_connector")
            raise NotFound("no such connector", {"connector": connector_id[:64]})
        return found

    def rejected(self, kind: str, outcome: str) -> None:
        self.on_delivery(kind, outcome)

    async def receive(self, connector: Connector, headers: Mapping[str, str], body: bytes) -> Reply:
        now = self.clock()
        secret = await self.store.secret(connector.id)
        try:
            parsed = self._verify_and_parse(connector, secret, headers, body, now)
        except signing.SignatureError as error:
            await self._reject(connector, "bad_signature", now)
            raise Unauthenticated(str(error), {"connector": connector.id}) from None
        except ShapeError as error:
            await self._reject(connector, "bad_shape", now)
            raise BadRequest(f"not a {connector.kind} event: {error}", {"rule": "shape"}) from None
        if isinstance(parsed, zoom.UrlValidation):
            self.on_delivery(connector.kind, "url_validation")
            token = signing.zoom_encrypted_token(secret, parsed.plain_token)
            return Reply(200, {"plainToken": parsed.plain_token, "encryptedToken": token})
        return await self._store(connector, parsed, body, now)

    def _verify_and_parse(
        self,
        connector: Connector,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
    ) -> MeetingEvent | zoom.UrlValidation:
        if connector.kind == "teams":
            document = _json(body)  # Graph signs nothing: clientState, inside, is the proof
            return MeetingEvent(
                kind="ignored", type=f"graph:{teams.check_client_state(secret, document)}"
            )
        if connector.kind == "webex":
            signing.verify_webex(secret, headers.get("x-spark-signature"), body)
            return webex.parse(_json(body))
        signing.verify_zoom(
            secret,
            headers.get("x-zm-signature"),
            headers.get("x-zm-request-timestamp"),
            body,
            now.timestamp(),
        )
        return zoom.parse(_json(body))

    def graph_validation(self, connector: Connector, token: str) -> str:
        """Graph's endpoint check: echo `validationToken` (Teams connectors only)."""
        if connector.kind != "teams" or not 0 < len(token) <= MAX_VALIDATION_TOKEN:
            self.on_delivery(connector.kind, "bad_shape")
            raise BadRequest(
                f"validationToken is for teams connectors, 1 to {MAX_VALIDATION_TOKEN} characters",
                {"field": "validationToken"},
            )
        self.on_delivery(connector.kind, "url_validation")
        return token

    async def import_report(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        """A Teams attendance report (or any provider's, in the same shape) into the inbox:
        the same events, keys and processing as webhooks, so a re-import adds nothing."""
        connector = await self.store.get(ref)
        try:
            events = teams.report_events(body)
        except ShapeError as error:
            raise BadRequest(f"not an attendance report: {error}", {"rule": "shape"}) from None
        now = self.clock()
        stored = 0
        for event in events:
            stored += await self.inbox.add(connector.id, event, b"", now, now)
        self.processor.wake()
        return {"events": len(events), "stored": stored, "instance": events[-1].instance}

    async def reconcile(
        self, ref: str, meeting: str, report_body: Any, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Fill what the webhooks missed from the provider's attendance report (see
        connectors.reconcile); stores the new events in the inbox, where they are processed
        like deliveries, and asks for the attendance to be issued again when it changed."""
        connector = await self.store.get(ref)
        try:
            report = reports.parse(connector.kind, report_body)
        except ShapeError as error:
            raise BadRequest(
                f"not a {connector.kind} attendance report: {error}", {"rule": "shape"}
            ) from None
        instance = await self._instance(connector, meeting, report.report_id)
        stored = await self.inbox.meeting(connector.id, instance)
        planned = reconciling.plan(report, stored, _occurrence(stored, meeting, instance))
        again = await self._reissue(connector, stored, planned, instance)
        changes = planned.changes + ([{"change": "reissue"}] if again else [])
        if not dry_run:
            now = self.clock()
            for event in planned.events + ([again] if again else []):
                await self.inbox.add(connector.id, event, b"", now, now)
            self.processor.wake()
        return {
            "connector": connector.name,
            "meeting": meeting,
            "instance": instance,
            "dry_run": dry_run,
            "changes": changes,
        }

    async def pull_teams(
        self, ref: str, graph: GraphClient, pull: TeamsPull
    ) -> Sequence[dict[str, Any]]:
        """Each of a Teams meeting's attendance reports (or the one named), fetched from Graph
        and imported like an uploaded report: a second pull stores nothing new."""
        connector = await self.store.get(ref)
        if connector.kind != "teams":
            raise BadRequest("pull-teams is for teams connectors", {"field": "connector"})
        listed = await graph.attendance_reports(pull.organizer, pull.meeting)
        chosen = [s for s in listed if not pull.report_id or s.get("id") == pull.report_id]
        if pull.report_id and not chosen:
            raise NotFound(f"no attendance report {pull.report_id!r} for this meeting")
        pulled: Sequence[dict[str, Any]] = []
        for summary in chosen:
            report = await graph.report(pull.organizer, pull.meeting, summary)
            body = {"meeting_id": pull.meeting, "report": report, **pull.extra()}
            imported = await self.import_report(connector.id, body)
            records = len(report["attendanceRecords"])
            pulled = [*pulled, {"report": summary["id"], "records": records, **imported}]
        return pulled

    async def _instance(self, connector: Connector, meeting: str, report_id: str) -> str:
        found = await self.inbox.instances(connector.id, meeting)
        if meeting in found or len(found) == 1:
            return meeting if meeting in found else found[0]
        if found:
            raise BadRequest(
                f"meeting {meeting!r} has {len(found)} occurrences: name one of them",
                {"field": "meeting", "instances": found[:20]},
            )
        return report_id or meeting

    async def _reissue(
        self,
        connector: Connector,
        stored: Sequence[MeetingEvent],
        planned: reconciling.Plan,
        instance: str,
    ) -> MeetingEvent | None:
        """A new `ended` when an end was processed on evidence other than what is stored now
        (pending ends read everything when they run; a missing end is in the plan)."""
        ended = next((e for e in stored if e.kind == "ended" and not e.revision), None)
        if ended is None:
            return None
        pending, bases = await self.inbox.end_bases(connector.id, instance)
        basis = attendance.basis([*stored, *planned.events])
        if pending or basis in bases or (bases == {None} and not planned.events):
            return None
        return replace(ended, type=reconciling.TYPE, revision=basis)

    async def _store(
        self, connector: Connector, event: MeetingEvent, body: bytes, now: datetime
    ) -> Reply:
        due = now + self.settle if event.kind == "ended" else now
        fresh = await self.inbox.add(connector.id, event, body, now, due)
        outcome = "ignored" if event.kind == "ignored" else "accepted" if fresh else "duplicate"
        self.on_delivery(connector.kind, outcome)
        await self.store.count(connector.id, outcome, event.type, now)
        if outcome == "ignored":
            return Reply(202, {"status": "ignored", "event": event.type})
        if fresh:
            self.processor.wake()
        return Reply(200, {"status": outcome})

    async def _reject(self, connector: Connector, outcome: str, now: datetime) -> None:
        self.on_delivery(connector.kind, outcome)
        await self.store.count(connector.id, outcome, "", now)


def _occurrence(stored: Sequence[MeetingEvent], meeting: str, instance: str) -> MeetingEvent:
    """The occurrence's own fields (ids, topic, host, schedule) for reconciled events."""
    known = next((e for e in stored if e.kind == "ended"), None) or next(iter(stored), None)
    if known is not None:
        return known
    return MeetingEvent(kind="ended", type=reconciling.TYPE, meeting_id=meeting, instance=instance)


def _json(body: bytes) -> Any:
    """Called only once the signature has been checked."""
    try:
        return decode_json(body)
    except JSONInputError as error:
        raise ShapeError(f"the body is not JSON: {error.message}") from None


def _plain(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats as JSON: instants in ISO 8601 (BSON gives naive UTC)."""
    return {
        k: v.replace(tzinfo=UTC).isoformat() if isinstance(v, datetime) else v
        for k, v in stats.items()
    }
