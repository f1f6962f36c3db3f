"""A dry run for integrators: what a forwarder would send for one statement, exactly, or why
it would send nothing (`lrs forwarders preview`).

It goes through the code the real path uses: `rules.matches` (with the vocabulary in
force), the pipeline's resolution and rendering (`Pipeline.prepare`: the person, the
employment policy, the template), the stored body's BSON round trip, and the worker's
signed headers (`delivery.request_headers`). It reads the forwarder and the people and
writes nothing: no event, no index, no attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import bson
import orjson

from forwarders.delivery.send import USER_AGENT, request_headers
from forwarders.events import as_mapping, statement_event
from forwarders.pipeline import Match, Pipeline
from forwarders.rules import Forwarder, matches, wanted_verbs
from statements.vocabulary import Vocabulary, canonical_verb

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@dataclass(frozen=True, slots=True)
class Preview:
    forwarder: Forwarder
    state: str
    """`pending` when it would be sent; else `unmatched`, `dropped`, `dead`, `not_matched`,
    `voiding` or `no_secret`."""
    reason: str | None = None
    event_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def sent(self) -> bool:
        return self.body is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "forwarder": {"id": self.forwarder.id, "name": self.forwarder.name},
            "would_send": self.sent,
            "state": self.state,
            "reason": self.reason,
            "event_id": self.event_id,
            "method": "POST",
            "url": self.forwarder.url,
            "headers": self.headers,
            "body": self.body.decode() if self.body is not None else None,
        }

    def http_message(self) -> str:
        """The request as it would go on the wire (headers, a blank line, the exact body)."""
        lines = [f"POST {self.forwarder.url}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return "\n".join([*lines, "", (self.body or b"").decode()])


def mismatch(forwarder: Forwarder, statement: Mapping[str, Any], vocabulary: Vocabulary) -> str:
    """Why `rules.matches` said no, in the order it checks."""
    verb = as_mapping(statement.get("verb")).get("id")
    canonical = canonical_verb(statement, vocabulary)
    obj = as_mapping(statement.get("object"))
    kind = obj.get("objectType", "Activity")
    if canonical not in wanted_verbs(forwarder, vocabulary):
        named = f"{verb}" if canonical == verb else f"{verb} ({canonical})"
        if canonical == verb and verb in vocabulary.aliases:
            named = f"{verb} (its result contradicts {vocabulary.aliases[verb]})"
        return f"the verb {named} is not one of the forwarder's ({', '.join(forwarder.verbs)})"
    if kind != "Activity":
        return f"the object is a {kind}, not an Activity"
    if forwarder.activity_ids or forwarder.activity_prefixes:
        return f"the activity {obj.get('id')} is not among the forwarder's ids or prefixes"
    kind = as_mapping(obj.get("definition")).get("type")
    return f"the activity type {kind} is not among the forwarder's ({forwarder.activity_types})"


def stored_body(payload: Mapping[str, Any]) -> bytes:
    """The body the worker sends: the payload as it reads back from the database."""
    return orjson.dumps(bson.decode(bson.encode({"payload": payload}))["payload"])


async def preview(
    forwarder: Forwarder,
    statement: Mapping[str, Any],
    pipeline: Pipeline,
    now: datetime,
    timestamp: int,
) -> Preview:
    """`statement` as the LRS would store it (id, stored, timestamp set)."""
    if as_mapping(statement.get("verb")).get("id") == VOIDED:
        reason = "a voiding statement makes no event: it revokes those of the one it voids"
        return Preview(forwarder, "voiding", reason)
    vocabulary = await pipeline.vocabulary.refresh()
    if not matches(forwarder, statement, vocabulary):
        return Preview(forwarder, "not_matched", mismatch(forwarder, statement, vocabulary))
    event = statement_event(forwarder.id, statement, canonical_verb(statement, vocabulary))
    [disposition] = await pipeline.prepare([Match(forwarder, statement, event)])
    if disposition.state != "pending" or disposition.payload is None:
        return Preview(forwarder, disposition.state, disposition.reason, event.id)
    secrets = forwarder.signing_secrets(now)
    if not secrets:
        return Preview(forwarder, "no_secret", "no active signing secret", event.id)
    body = stored_body(disposition.payload)
    headers = {"user-agent": USER_AGENT, **request_headers(event.id, secrets, timestamp, body)}
    return Preview(forwarder, "pending", None, event.id, headers, body)
