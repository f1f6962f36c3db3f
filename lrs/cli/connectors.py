"""`lrs connectors create|list|show|delete|import-report|reconcile|replay`: connectors from
the shell.

    lrs connectors create --kind zoom --name NAME --secret SECRET \\
        --activity-template 'https://meetings.example.com/zoom/{meeting_id}' [--threshold 0.75]
    lrs connectors replay --connector NAME --file FILE.jsonl [--url http://127.0.0.1:8000]
    lrs connectors reconcile MEETING --connector NAME --file REPORT.json [--dry-run] [--json]
    LRS_GRAPH_CLIENT_SECRET=... lrs connectors pull-teams --connector NAME --meeting ID \\
        --organizer USER_ID --tenant TENANT --client-id APP_ID [--report ID]

`create` prints the connector as JSON, with the `url` the provider must call. `replay` reads
one recorded provider event per line, signs each with the connector's secret exactly as the
provider does, and posts it to a running LRS (the first offline step of docs/connectors.md);
it exits 1 when any post was refused. `reconcile` compares the provider's attendance report
for one meeting with what the webhooks stored and fills the gaps (or, with `--dry-run`,
only says what it would change). `pull-teams` fetches a Teams meeting's attendance reports
from Microsoft Graph with the app's client credentials (the secret from the environment,
never the command line, which other users can see) and imports them; it exits 1 when Graph
refuses. Bad input exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from connectors.model import Connector
from connectors.providers import graph
from connectors.providers.signing import webex_signature, zoom_signature
from connectors.service import ConnectorService, TeamsPull
from forwarders.config import ForwardingSettings
from lrs.connector_http import HttpxExchange, http_client
from lrs.settings import Settings
from lrs.storage.client import mongo_client
from statements.errors import XAPIError

log = logging.getLogger("lrs")
GRAPH_CREDENTIAL_ENV = "LRS_GRAPH_CLIENT_SECRET"


def add_parser(commands: Any) -> None:
    connectors = commands.add_parser("connectors", help="Zoom, Webex and Teams attendance sources")
    actions = connectors.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a connector (prints its webhook URL)")
    create.add_argument("--kind", required=True, choices=["zoom", "webex", "teams"])
    create.add_argument("--name", required=True)
    create.add_argument("--secret", required=True, help="the provider's webhook secret token")
    create.add_argument("--activity-template", required=True, help="IRI with {meeting_id}")
    create.add_argument("--threshold", type=float, default=0.75, help="attended fraction")
    create.add_argument("--mapping", type=Path, help="JSON file: meeting id or topic → IRI")
    actions.add_parser("list", help="list connectors (never their secrets)")
    actions.add_parser("show", help="one connector and its counters").add_argument("connector")
    actions.add_parser("delete", help="delete a connector and its inbox").add_argument("connector")
    report = actions.add_parser("import-report", help="import a Teams attendance report")
    report.add_argument("--connector", required=True, help="connector name or id")
    report.add_argument("--meeting-id", required=True, help="what {meeting_id} becomes")
    report.add_argument("--file", required=True, type=Path, help="meetingAttendanceReport JSON")
    report.add_argument("--topic", default="")
    report.add_argument("--scheduled-minutes", type=int)
    reconcile = actions.add_parser("reconcile", help="fill webhook gaps from an attendance report")
    reconcile.add_argument("meeting", help="the meeting occurrence (or meeting id, if one)")
    reconcile.add_argument("--connector", required=True, help="connector name or id")
    reconcile.add_argument("--file", required=True, type=Path, help="the provider's report JSON")
    reconcile.add_argument("--dry-run", action="store_true", help="report, change nothing")
    reconcile.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_pull(actions)
    replay = actions.add_parser("replay", help="sign and post recorded events to a running LRS")
    replay.add_argument("--connector", required=True, help="connector name or id")
    replay.add_argument("--file", required=True, type=Path, help="JSON Lines, one event a line")
    replay.add_argument("--url", help="the LRS base URL (default LRS_PUBLIC_URL or host:port)")


def _add_pull(actions: Any) -> None:
    pull = actions.add_parser("pull-teams", help="import a Teams meeting's reports from Graph")
    pull.add_argument("--connector", required=True, help="teams connector name or id")
    pull.add_argument("--meeting", required=True, help="the onlineMeeting id")
    pull.add_argument("--organizer", required=True, help="the organizer's user id (or UPN)")
    pull.add_argument("--report", default="", help="one attendance report id (default: all)")
    pull.add_argument("--tenant", default=os.environ.get("LRS_GRAPH_TENANT_ID", ""))
    pull.add_argument("--client-id", default=os.environ.get("LRS_GRAPH_CLIENT_ID", ""))
    pull.add_argument("--graph-url", default=graph.GRAPH_URL, help="Graph base URL")
    pull.add_argument("--login-url", default=graph.LOGIN_URL, help="token endpoint base URL")
    pull.add_argument("--topic", default="")
    pull.add_argument("--scheduled-minutes", type=int)


class _NoSink:
    """The CLI stores definitions only; statements are made by the serving process."""

    async def __call__(self, connector: Connector, statements: Sequence[dict[str, Any]]) -> None:
        raise RuntimeError("the CLI does not process connector events")


def _out(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


async def run(
    settings: Settings, uri: str, forwarding: ForwardingSettings, args: argparse.Namespace
) -> int:
    client = mongo_client(uri)
    base = (args.url if getattr(args, "url", None) else None) or settings.public_url
    base = base or f"http://{settings.host}:{settings.port}"
    try:
        service = ConnectorService(
            client[settings.database],
            _NoSink(),
            secrets_key=forwarding.secrets_key,
            public_url=base,
        )
        await service.ensure_indexes()
        return await _action(service, args, base)
    except XAPIError as error:
        log.error("%s", error)
        return 2
    finally:
        await client.close()


async def _action(service: ConnectorService, args: argparse.Namespace, base: str) -> int:
    if args.action == "create":
        _out(await service.create(_definition(args)))
    elif args.action == "list":
        _out(await service.list())
    elif args.action == "show":
        _out(await service.view(args.connector))
    elif args.action == "import-report":
        _out(await service.import_report(args.connector, _report(args)))
    elif args.action == "reconcile":
        return await _reconcile(service, args)
    elif args.action == "pull-teams":
        return await pull_teams(service, args)
    elif args.action == "delete":
        await service.delete(args.connector)
        _out({"deleted": args.connector})
    else:
        return await replay(service, args.connector, args.file, base)
    return 0


async def _reconcile(service: ConnectorService, args: argparse.Namespace) -> int:
    try:
        report = json.loads(args.file.read_text())
    except (OSError, ValueError) as error:
        log.error("cannot read the report %s: %s", args.file, error)
        return 2
    done = await service.reconcile(args.connector, args.meeting, report, dry_run=args.dry_run)
    if args.json:
        _out(done)
    else:
        sys.stdout.write(describe(done))
    return 0


async def pull_teams(
    service: ConnectorService,
    args: argparse.Namespace,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    secret = os.environ.get(GRAPH_CREDENTIAL_ENV, "")
    if not (args.tenant and args.client_id and secret):
        log.error(
            "pull-teams needs --tenant, --client-id and %s in the environment", GRAPH_CREDENTIAL_ENV
        )
        return 2
    credentials = graph.GraphCredentials(args.tenant, args.client_id, secret)
    pull = TeamsPull(args.organizer, args.meeting, args.report, args.topic, args.scheduled_minutes)
    async with http_client(transport) as http:
        client = graph.GraphClient(
            credentials, HttpxExchange(http), graph_url=args.graph_url, login_url=args.login_url
        )
        try:
            _out(await service.pull_teams(args.connector, client, pull))
        except graph.GraphError as error:
            log.error("Microsoft Graph: %s", error)
            return 1
    return 0


def describe(done: dict[str, Any]) -> str:
    """A reconciliation for a person: one line per change, then a summary."""
    verb = "would change" if done["dry_run"] else "changed"
    lines = [
        "\t".join(str(change[k]) for k in ("change", "participant", "email", "at") if k in change)
        for change in done["changes"]
    ]
    summary = f"{done['connector']} meeting {done['instance']}: {verb} {len(lines)} thing(s)"
    return "\n".join([*lines, summary if lines else summary + " (in line with the report)"]) + "\n"


def _definition(args: argparse.Namespace) -> dict[str, Any]:
    definition = {
        "kind": args.kind,
        "name": args.name,
        "secret": args.secret,
        "activity_template": args.activity_template,
        "completion_threshold": args.threshold,
    }
    if args.mapping is not None:
        definition["mapping"] = json.loads(args.mapping.read_text())
    return definition


def _report(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meeting_id": args.meeting_id,
        "report": json.loads(args.file.read_text()),
    }
    if args.topic:
        body["topic"] = args.topic
    if args.scheduled_minutes is not None:
        body["scheduled_minutes"] = args.scheduled_minutes
    return body


def signed_headers(kind: str, secret: str, body: bytes, now: float) -> dict[str, str]:
    """The headers the provider itself would send with `body`."""
    if kind == "webex":
        return {
            "content-type": "application/json",
            "x-spark-signature": webex_signature(secret, body),
        }
    stamp = str(int(now))
    return {
        "content-type": "application/json",
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": zoom_signature(secret, stamp, body),
    }


async def replay(
    service: ConnectorService,
    ref: str,
    file: Path,
    base: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    connector = await service.store.get(ref)
    secret = await service.store.secret(connector.id)
    url = f"{base.rstrip('/')}/connectors/{connector.id}"
    refused = 0
    timeout = httpx.Timeout(10.0)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, transport=transport) as http:
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            body = line.strip().encode()
            headers = signed_headers(connector.kind, secret, body, time.time())
            response = await http.post(url, content=body, headers=headers)
            refused += response.status_code >= 300
            sys.stdout.write(f"{number}\t{response.status_code}\t{response.text[:200]}\n")
    return 1 if refused else 0
