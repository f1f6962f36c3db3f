"""`lrs erase` and `lrs retention`: the data-protection commands (docs/data-protection.md).

`lrs.cli.main` only registers them; this module parses their arguments and runs them against
the database `lrs.cli.main.database_uri` chose. Both print their report as JSON and are
audit-logged with actor and source `cli`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

import orjson

from lrs.audit import AuditLog
from lrs.erasure import parse_agent, run_erasure
from lrs.retention import run_retention
from lrs.settings import Settings
from lrs.storage.client import mongo_client
from lrs.storage.indexes import ensure_indexes
from statements.errors import BadRequest, XAPIError

COMMANDS = ("erase", "retention")
log = logging.getLogger("lrs")


def add_parsers(commands: Any) -> None:
    erase = commands.add_parser(
        "erase", help="erase a learner (GDPR): delete or pseudonymise everything of one agent"
    )
    erase.add_argument(
        "--agent",
        required=True,
        help='the Agent as JSON, e.g. \'{"mbox": "mailto:a@example.com"}\'',
    )
    erase.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    retention = commands.add_parser(
        "retention", help="delete what is older than the LRS_RETENTION_* ages"
    )
    retention.add_argument("--dry-run", action="store_true", help="report only, change nothing")


def _agent(raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("--agent must be a JSON Agent object", {"field": "agent"}) from None
    return parse_agent(value)


async def run(settings: Settings, uri: str, args: argparse.Namespace) -> int:
    client = mongo_client(uri)
    try:
        db = client[settings.database]
        await ensure_indexes(db)
        audit = AuditLog(db)
        await audit.ensure_indexes()
        report: Any
        if args.command == "erase":
            agent = _agent(args.agent)
            report = await run_erasure(
                db, settings, audit, agent, dry_run=args.dry_run, actor="cli", source="cli"
            )
        else:
            report = await run_retention(
                db, settings, audit, dry_run=args.dry_run, actor="cli", source="cli"
            )
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return 0
    except XAPIError as error:
        log.error("%s", error.message)
        return 2
    finally:
        await client.close()
