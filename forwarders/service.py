"""The forwarding admin API, as async functions for the HTTP admin resource and the CLI.

Secrets are write-only: views list each secret's id and dates, never its value; a value is
returned once, when it is generated (`create_forwarder`, `rotate_secret`). Rotation adds
the new secret and keeps the old ones signing for `overlap`, so receivers can switch over.
Errors are `InvalidForwarder` (400), `ForwarderNotFound` / `EventNotFound` (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.delivery.signing import InvalidSecret, generate_secret, secret_key
from forwarders.delivery.ssrf import check_url
from forwarders.errors import EventNotFound, ForwarderNotFound, InvalidForwarder
from forwarders.events import sample_event
from forwarders.identity.store import IdentityStore
from forwarders.pipeline import Pipeline, generic
from forwarders.queue import STATES, Attempt, EventRecord, JobStore
from forwarders.rules import Forwarder, SigningSecret
from forwarders.secretbox import SecretBox
from forwarders.source import StatementSource
from forwarders.spec import parse_spec, spec_defaults
from forwarders.store import WORKERS, ForwarderStore, ensure_indexes, prune_expired

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_SECRETS = 5
MAX_LIMIT = 1000


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ForwarderView:
    forwarder: Forwarder

    def as_dict(self) -> dict[str, Any]:
        f = self.forwarder
        return {
            "id": f.id,
            "name": f.name,
            "kind": f.kind,
            "url": f.url,
            "verbs": list(f.verbs),
            "activity_ids": list(f.activity_ids),
            "activity_prefixes": list(f.activity_prefixes),
            "activity_types": list(f.activity_types),
            "paused": f.paused,
            "paused_reason": f.paused_reason,
            "max_in_flight": f.max_in_flight,
            "secrets": [
                {
                    "id": s.id,
                    "added": s.added.isoformat(),
                    "expires": s.expires.isoformat() if s.expires else None,
                }
                for s in f.secrets
            ],
            "created": f.created.isoformat(),
            "template": _template_view(f),
            "terminated": f.terminated,
        }


def _template_view(forwarder: Forwarder) -> dict[str, Any] | None:
    """Name, version and lookup tables of the template in use (not its text)."""
    template = forwarder.mapping_template()
    if template is None:
        return None
    return {**template.summary(), "default": forwarder.template is None}


@dataclass(frozen=True, slots=True)
class CreatedForwarder:
    view: ForwarderView
    secret: str | None
    """The generated signing secret, shown this once (None when the caller gave secrets)."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.view.as_dict(), "secret": self.secret}


def _new_secret(value: str, now: datetime) -> SigningSecret:
    return SigningSecret(id="key_" + uuid.uuid4().hex[:8], value=value, added=now)


def _checked_secrets(values: Any) -> list[str]:
    if not isinstance(values, list | tuple) or not 1 <= len(values) <= MAX_SECRETS:
        raise InvalidForwarder("secrets", f"must be a list of 1 to {MAX_SECRETS} secrets")
    for value in values:
        try:
            secret_key(value if isinstance(value, str) else "")
        except InvalidSecret as error:
            raise InvalidForwarder("secrets", str(error)) from None
    return list(values)


class ForwarderService:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        statements: StatementSource,
        alias_domains: frozenset[str] = frozenset(),
        secrets_key: str | None = None,
        allow_private: bool = False,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.db = db
        self.store = ForwarderStore(db, SecretBox(secrets_key))
        self.jobs = JobStore(db, statements)
        self.pipeline = Pipeline(statements, IdentityStore(db, alias_domains), self.jobs)
        self.allow_private = allow_private
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db)

    # -- forwarders -------------------------------------------------------------------------

    async def create_forwarder(self, spec: Mapping[str, Any]) -> CreatedForwarder:
        fields = {**spec_defaults(), **parse_spec(spec, partial=False)}
        check_url(fields["url"], allow_private=self.allow_private)
        now = self.clock()
        given = fields.pop("secrets", None)
        generated = None if given is not None else generate_secret()
        values = _checked_secrets(given) if given is not None else [str(generated)]
        forwarder = Forwarder(
            id=str(uuid.uuid4()),
            secrets=tuple(_new_secret(v, now) for v in values),
            created=now,
            **fields,
        )
        await self.store.insert(forwarder)
        return CreatedForwarder(ForwarderView(forwarder), generated)

    async def _forwarder(self, forwarder_id: str) -> Forwarder:
        forwarder = await self.store.get(forwarder_id)
        if forwarder is None:
            raise ForwarderNotFound(forwarder_id)
        return forwarder

    async def find(self, name_or_id: str, *, by_name: bool = True) -> Forwarder:
        """A forwarder by id, else (`by_name`) by its name when exactly one has it."""
        forwarder = await self.store.get(name_or_id)
        if forwarder is not None or not by_name:
            return forwarder or await self._forwarder(name_or_id)
        named = [f for f in await self.store.all() if f.name == name_or_id]
        if len(named) > 1:
            raise InvalidForwarder(
                "forwarder", f"{len(named)} forwarders are named {name_or_id!r}: use an id"
            )
        if not named:
            raise ForwarderNotFound(name_or_id)
        return named[0]

    async def get_forwarder(self, forwarder_id: str) -> ForwarderView:
        return ForwarderView(await self._forwarder(forwarder_id))

    async def list_forwarders(self) -> list[ForwarderView]:
        return [ForwarderView(f) for f in await self.store.all()]

    async def update_forwarder(self, forwarder_id: str, spec: Mapping[str, Any]) -> ForwarderView:
        """Change any field but the secrets (see `rotate_secret`)."""
        if "secrets" in spec:
            raise InvalidForwarder("secrets", "secrets change only through rotation")
        fields = parse_spec(spec, partial=True)
        if "url" in fields:
            check_url(fields["url"], allow_private=self.allow_private)
        if "paused" in fields:
            fields["paused_reason"] = "paused by an administrator" if fields["paused"] else None
        if not fields:
            return await self.get_forwarder(forwarder_id)
        updated = await self.store.update(forwarder_id, fields)
        if updated is None:
            raise ForwarderNotFound(forwarder_id)
        return ForwarderView(updated)

    async def pause_forwarder(
        self, forwarder_id: str, reason: str = "paused by an administrator"
    ) -> ForwarderView:
        """Events keep being queued while paused and go out after `resume_forwarder`."""
        updated = await self.store.set_paused(forwarder_id, True, reason)
        if updated is None:
            raise ForwarderNotFound(forwarder_id)
        return ForwarderView(updated)

    async def resume_forwarder(self, forwarder_id: str) -> ForwarderView:
        updated = await self.store.set_paused(forwarder_id, False, None)
        if updated is None:
            raise ForwarderNotFound(forwarder_id)
        return ForwarderView(updated)

    async def delete_forwarder(self, forwarder_id: str) -> None:
        """The forwarder, its queued and delivered events and their attempts. Events go
        first: a statement's events are found by id, one per existing forwarder, so a
        deletion cut off in between must not leave events of a forwarder that is gone."""
        await self._forwarder(forwarder_id)
        await self.jobs.delete_forwarder(forwarder_id)
        if not await self.store.delete(forwarder_id):
            raise ForwarderNotFound(forwarder_id)

    async def rotate_secret(
        self, forwarder_id: str, secret: str | None = None, overlap: timedelta = DEFAULT_OVERLAP
    ) -> str:
        """Add a secret (generated unless given) and return it; older secrets keep signing
        for `overlap` (zero retires them at once)."""
        forwarder = await self._forwarder(forwarder_id)
        value = _checked_secrets([secret])[0] if secret is not None else generate_secret()
        now = self.clock()
        kept = tuple(
            s if s.expires is not None else replace(s, expires=now + overlap)
            for s in prune_expired(forwarder.secrets, now)
        )
        secrets = prune_expired((*kept, _new_secret(value, now)), now)[-MAX_SECRETS:]
        await self.store.set_secrets(forwarder_id, secrets)
        return value

    # -- events -----------------------------------------------------------------------------

    async def send_test_event(self, forwarder_id: str) -> EventRecord:
        """Queue a `learning.test` event; it is delivered (and its attempts recorded) like
        any other, so `list_attempts` shows how the endpoint answered."""
        await self._forwarder(forwarder_id)
        now = self.clock()
        event = sample_event(forwarder_id, now.isoformat().replace("+00:00", "Z"))
        await self.jobs.enqueue_dispositions([generic(event)], now)
        return await self.get_event(event.id)

    async def list_events(
        self,
        *,
        forwarder_id: str | None = None,
        state: str | None = None,
        limit: int = 100,
        before: datetime | None = None,
    ) -> list[EventRecord]:
        """Newest first; page with `before` = the `created` of the last one seen."""
        if state is not None and state not in STATES:
            raise InvalidForwarder("state", f"must be one of {', '.join(STATES)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidForwarder("limit", f"must be from 1 to {MAX_LIMIT}")
        return await self.jobs.list_events(
            forwarder_id=forwarder_id, state=state, limit=limit, before=before, now=self.clock()
        )

    async def get_event(self, event_id: str) -> EventRecord:
        record = await self.jobs.get(event_id)
        if record is None:
            raise EventNotFound(event_id)
        return record

    async def list_attempts(self, event_id: str) -> list[Attempt]:
        await self.get_event(event_id)
        return await self.jobs.attempts_of(event_id)

    async def replay_event(self, event_id: str) -> EventRecord:
        """Send one event again, whatever its state (unless a worker holds it right now)."""
        await self._replay({"_id": event_id})
        return await self.get_event(event_id)

    async def replay_forwarder(self, forwarder_id: str, states: Sequence[str] = ("dead",)) -> int:
        await self._forwarder(forwarder_id)
        return await self._replay({"forwarder": forwarder_id, "state": {"$in": _states(states)}})

    async def replay_range(
        self,
        start: datetime,
        end: datetime,
        *,
        forwarder_id: str | None = None,
        states: Sequence[str] = ("dead",),
    ) -> int:
        """Replay the events created in [start, end) (optionally of one forwarder). Each
        forwarder's are replayed in turn: every read of the events leads with an indexed
        `forwarder`."""
        match: dict[str, Any] = {
            "created": {"$gte": start, "$lt": end},
            "state": {"$in": _states(states)},
        }
        if forwarder_id is not None:
            return await self._replay({"forwarder": forwarder_id, **match})
        ids = await self.store.ids()
        return sum([await self._replay({"forwarder": f, **match}) for f in ids])

    async def _replay(self, match: Mapping[str, Any]) -> int:
        """Through the pipeline: an event never rendered is rendered now (see
        `Pipeline.replay`)."""
        return await self.pipeline.replay(match, await self.store.all(), self.clock())

    async def list_workers(self) -> list[dict[str, Any]]:
        """Running workers and their last heartbeat."""
        return [doc async for doc in self.db[WORKERS].find({}).sort("started", 1)]


def _states(states: Sequence[str]) -> list[str]:
    if not isinstance(states, list | tuple):  # from a JSON body: could be anything
        raise InvalidForwarder("states", f"must be a list among {', '.join(STATES)}")
    unknown = [s for s in states if s not in STATES]
    if unknown or not states:
        raise InvalidForwarder("states", f"must be among {', '.join(STATES)}")
    return list(states)
