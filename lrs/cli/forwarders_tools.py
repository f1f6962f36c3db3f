"""`lrs forwarders reconcile` and `lrs forwarders preview`: the integrator's tools.

    lrs forwarders reconcile --forwarder NAME_OR_ID --since DATE [--until DATE]
                             [--requeue] [--replay-dead]
    lrs forwarders preview --forwarder NAME_OR_ID --statement FILE [--json]

`reconcile` prints its report as JSON and exits 1 when it found drift (missing, undelivered,
dead or unmatched events), so a scheduled check can alert. `preview` prints the request a
forwarder would send (or, with `--json`, the same as JSON) and exits 1 when nothing would be
sent, saying why. Both exit 2 on bad input (an unknown forwarder, a bad date, a statement file
that is not one valid xAPI statement).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from forwarders.config import ForwardingSettings
from forwarders.pipeline import Pipeline
from forwarders.preview import preview
from forwarders.reconcile import Reconciler, parse_moment
from forwarders.service import ForwarderService
from lrs.services import forwarder_service
from lrs.settings import Settings
from lrs.storage.client import mongo_client
from lrs.storage.sequence import stored_string
from statements.errors import XAPIError
from statements.prepare import prepare_statement
from statements.types import SpecVersion
from statements.validate import StatementValidator

log = logging.getLogger("lrs")
ACTIONS = frozenset({"reconcile", "preview"})
PREVIEW_AUTHORITY = {
    "objectType": "Agent",
    "name": "lrs forwarders preview",
    "account": {"homePage": "https://lrs.invalid", "name": "preview"},
}
MAX_STATEMENT_BYTES = 1024 * 1024


class BadInput(Exception):
    """Input the command cannot use: exit 2 with the message."""


def add_parsers(actions: Any) -> None:
    check = actions.add_parser("reconcile", help="compare qualifying statements with events")
    check.add_argument("--forwarder", required=True, help="forwarder name or id")
    check.add_argument("--since", required=True, help="ISO 8601 date or date-time (stored)")
    check.add_argument("--until", help="default: a minute ago")
    check.add_argument("--requeue", action="store_true", help="enqueue the missing events")
    check.add_argument("--replay-dead", action="store_true", help="also replay dead ones")
    dry = actions.add_parser("preview", help="the exact request a statement would produce")
    dry.add_argument("--forwarder", required=True, help="forwarder name or id")
    dry.add_argument("--statement", required=True, type=Path, help="a JSON file: one statement")
    dry.add_argument("--xapi-version", default="2.0.0", choices=["2.0.0", "1.0.3"])
    dry.add_argument("--json", action="store_true", help="print JSON instead of the request")


async def run(
    settings: Settings, uri: str, forwarding: ForwardingSettings, args: argparse.Namespace
) -> int:
    client = mongo_client(uri)
    try:
        db = client[settings.database]
        service = forwarder_service(db, forwarding)
        pipeline = service.pipeline
        if args.action == "reconcile":
            return await _reconcile(service, pipeline, args)
        return await _preview(service, pipeline, args)
    except (XAPIError, BadInput) as error:
        log.error("%s", error.message if isinstance(error, XAPIError) else error)
        return 2
    finally:
        await client.close()


async def _reconcile(
    service: ForwarderService, pipeline: Pipeline, args: argparse.Namespace
) -> int:
    forwarder = await service.find(args.forwarder)
    since = parse_moment(args.since, "since")
    until = parse_moment(args.until, "until") if args.until else None
    if args.requeue or args.replay_dead:
        await pipeline.jobs.ensure_indexes()
    report = await Reconciler(pipeline, clock=service.clock).reconcile(
        forwarder,
        since,
        until,
        requeue=args.requeue,
        replay_dead=args.replay_dead,
        forwarders=await service.store.all(),
    )
    _print(report.as_dict())
    return 1 if report.drift else 0


async def _preview(service: ForwarderService, pipeline: Pipeline, args: argparse.Namespace) -> int:
    """Reads only: no index is ensured, nothing is stored."""
    now = service.clock()
    statement, generated_id = read_statement(args.statement, args.xapi_version, now)
    forwarder = await service.find(args.forwarder)
    if generated_id:
        log.warning("the statement has no id: a random one stands in (webhook-id differs)")
    if forwarder.paused:
        log.warning("forwarder %s is paused: its events wait until it resumes", forwarder.name)
    result = await preview(forwarder, statement, pipeline, now, int(now.timestamp()))
    if args.json:
        _print(result.as_dict())
    elif result.sent:
        sys.stdout.write(result.http_message())
        sys.stdout.flush()
    if not result.sent:
        log.error("would not be sent (%s): %s", result.state, result.reason)
        return 1
    return 0


def read_statement(
    path: Path, version: SpecVersion, now: datetime
) -> tuple[Mapping[str, Any], bool]:
    """The statement in `path`, validated, as the LRS would store it (id, timestamp, stored,
    authority and version set); True when its id was generated here."""
    try:
        raw = path.read_bytes()[: MAX_STATEMENT_BYTES + 1]
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None
    if len(raw) > MAX_STATEMENT_BYTES:
        raise BadInput(f"{path}: over {MAX_STATEMENT_BYTES} bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadInput(f"{path} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadInput(f"{path} must hold one statement (a JSON object)")
    try:
        StatementValidator(version).validate(value)
    except XAPIError as error:
        raise BadInput(f"{path} is not a valid xAPI {version} statement: {error.message}") from None
    stored = stored_string(int(now.astimezone(UTC).timestamp() * 1000))
    prepared = prepare_statement(
        value,
        version=version,
        authority=PREVIEW_AUTHORITY,
        stored=stored,
        new_id=lambda: str(uuid.uuid4()),
    )
    return prepared, "id" not in value


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, indent=2) + "\n")
    sys.stdout.flush()
