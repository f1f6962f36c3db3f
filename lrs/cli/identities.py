"""`lrs identities import FILE [--format csv|jsonl] [--dry-run]`, `show EMPLOYEE_ID`,
`unmatched`.

The import prints the report (created, updated, unchanged, conflicting and invalid rows, and
how many waiting events it resolved) and exits 1 when any row was conflicting or invalid, so
a scheduled HRIS sync can alert on it. `--dry-run` prints the new, changed (with the fields)
and conflicting rows instead, writing nothing, with the same exit status.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from forwarders.config import ForwardingSettings
from forwarders.identity.service import IdentityService, import_format
from lrs.services import identity_service
from lrs.settings import Settings
from lrs.storage.client import mongo_client
from statements.errors import XAPIError

log = logging.getLogger("lrs")
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def add_parser(commands: Any) -> None:
    identities = commands.add_parser("identities", help="people from the HRIS, for forwarders")
    actions = identities.add_subparsers(dest="action", required=True)
    load = actions.add_parser("import", help="upsert people from a CSV or JSON Lines file")
    load.add_argument("file", type=Path)
    load.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file suffix")
    load.add_argument(
        "--dry-run", action="store_true", help="print what the import would change; write nothing"
    )
    actions.add_parser("show", help="one person").add_argument("employee_id")
    waiting = actions.add_parser("unmatched", help="events waiting for an identity")
    waiting.add_argument("--forwarder", help="forwarder id")
    waiting.add_argument("--limit", type=int, default=100)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.file.suffix.lower()
    if suffix not in SUFFIXES:
        raise XAPIError(f"cannot tell the format of {args.file.name}: pass --format csv|jsonl")
    return SUFFIXES[suffix]


async def run(
    settings: Settings, uri: str, forwarding: ForwardingSettings, args: argparse.Namespace
) -> int:
    client = mongo_client(uri)
    try:
        db = client[settings.database]
        # a local file: the operator's own choice of size
        service = identity_service(db, forwarding, sys.maxsize)
        await service.ensure_indexes()
        return await _action(service, args)
    except XAPIError as error:
        log.error("%s", error.message)
        return 1
    except OSError as error:
        log.error("cannot read %s: %s", args.file, error.strerror)
        return 1
    finally:
        await client.close()


async def _action(service: IdentityService, args: argparse.Namespace) -> int:
    if args.action == "import":
        fmt = import_format(_format(args))
        if args.dry_run:
            preview = (await service.preview_people(args.file.read_bytes(), fmt)).as_dict()
            _print(preview)
            return 1 if preview["conflicting_count"] or preview["invalid_count"] else 0
        report = await service.import_people(args.file.read_bytes(), fmt)
        _print(report)
        return 1 if report["conflicting_count"] or report["invalid_count"] else 0
    if args.action == "show":
        _print((await service.get_person(args.employee_id)).as_dict())
        return 0
    page = await service.list_unmatched(forwarder_id=args.forwarder, limit=args.limit)
    _print(page.as_dict())
    return 0


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, indent=2) + "\n")
    sys.stdout.flush()
