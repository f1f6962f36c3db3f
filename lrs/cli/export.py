"""`lrs export` and `lrs export verify DIR` (docs/exports.md).

`lrs.cli.main` registers them and picks the database; this module parses the options,
runs `exports.run.run_export` against that database with a progress line on stderr, and
prints the manifest's summary as JSON. Mistakes in the options exit 2 naming the option.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from exports.columns import DEFAULT_COLUMNS, split_columns
from exports.identities import HrisEmployeeIds
from exports.manifest import MANIFEST
from exports.run import Progress, run_export
from exports.spec import DEFAULT_MAX_FILE_BYTES, DEFAULT_SETTLE_SECONDS, FORMATS, build_spec
from exports.verify import verify_export
from forwarders.config import ForwardingSettings
from forwarders.identity.store import IdentityStore
from lrs.settings import Settings
from lrs.storage.client import mongo_client
from lrs.storage.mongo_statements import MongoStatementStore
from statements.errors import XAPIError

log = logging.getLogger("lrs")
PROGRESS_EVERY_SECONDS = 1.0
PROGRESS_EVERY_SECONDS_LOGGED = 10.0
MB = 1024 * 1024


def add_parser(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="export statements as NDJSON, CSV or Parquet files with a checksummed manifest",
        description="`lrs export --format F --out DIR [...]`, or `lrs export verify DIR`",
    )
    export.add_argument("--format", choices=FORMATS, help="output format")
    export.add_argument("--out", type=Path, help="a new (or empty) directory for the files")
    export.add_argument("--since", help="stored after this ISO 8601 instant")
    export.add_argument("--until", help="stored at or before this ISO 8601 instant")
    export.add_argument(
        "--after",
        help="continue after this cursor (a previous manifest's `cursor`, or its directory)",
    )
    export.add_argument(
        "--query",
        default="",
        help="GET /xapi/statements filters as a query string, e.g. 'verb=IRI&activity=IRI'",
    )
    export.add_argument("--include-voided", action="store_true", help="keep voided statements")
    export.add_argument(
        "--columns",
        help=f"CSV columns, comma-separated (default: {','.join(DEFAULT_COLUMNS)})",
    )
    export.add_argument(
        "--max-file-mb",
        type=float,
        default=DEFAULT_MAX_FILE_BYTES / MB,
        help="start a new file after this many MB of uncompressed rows",
    )
    export.add_argument(
        "--settle",
        type=float,
        default=DEFAULT_SETTLE_SECONDS,
        help="stop this many seconds behind now (write delay plus clock skew between nodes)",
    )
    export.add_argument("--quiet", action="store_true", help="no progress line")
    actions = export.add_subparsers(dest="action")
    verify = actions.add_parser("verify", help="re-check every file's checksum, size and rows")
    verify.add_argument("directory", type=Path)


def verify(args: argparse.Namespace) -> int:
    report = verify_export(args.directory)
    sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0 if report.ok else 1


def missing_options(args: argparse.Namespace) -> str | None:
    if args.format is None or args.out is None:
        return "lrs export needs --format and --out (or: lrs export verify DIR)"
    return None


def _after(value: str | None) -> str | None:
    """A cursor, or a previous export's directory (or manifest) to take it from."""
    if value is None:
        return None
    path = Path(value)
    manifest = path / MANIFEST if path.is_dir() else path
    if manifest.name == MANIFEST and manifest.is_file():
        return str(orjson.loads(manifest.read_bytes())["cursor"])
    return value


class ProgressLine:
    """Rows, files, how far in stored time, and the rate: on one rewritten line on a
    terminal, a line every few seconds otherwise (a log)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.started = self.shown = time.monotonic()

    def __call__(self, progress: Progress, final: bool = False) -> None:
        now = time.monotonic()
        every = PROGRESS_EVERY_SECONDS if self.tty else PROGRESS_EVERY_SECONDS_LOGGED
        if self.quiet or (not final and now - self.shown < every):
            return
        self.shown = now
        rate = progress.rows / max(now - self.started, 1e-9)
        line = (
            f"exported {progress.rows:,} statements in {progress.files} file(s)"
            f", through {progress.through or '-'} ({rate:,.0f}/s)"
        )
        end = "\n" if final or not self.tty else ""
        sys.stderr.write(("\r" if self.tty else "") + line + end)
        sys.stderr.flush()


async def run(settings: Settings, uri: str, args: argparse.Namespace) -> int:
    client = mongo_client(uri)
    try:
        spec = build_spec(
            args.format,
            filters=args.query,
            since=args.since,
            until=args.until,
            after=_after(args.after),
            include_voided=args.include_voided,
            columns=split_columns(args.columns) if args.columns else None,
            max_file_bytes=int(args.max_file_mb * MB),
            settle_seconds=args.settle,
        )
        db = client[settings.database]
        alias_domains = ForwardingSettings.from_env(os.environ).alias_domains
        show = ProgressLine(args.quiet)
        manifest = await run_export(
            spec,
            MongoStatementStore(db),
            args.out,
            now=datetime.now(UTC),
            identities=HrisEmployeeIds(IdentityStore(db, alias_domains)),
            on_progress=show,
        )
        show(Progress(manifest.rows, len(manifest.files), manifest.through), final=True)
        summary = {k: v for k, v in manifest.as_dict().items() if k != "files"}
        sys.stdout.write(json.dumps({"out": str(args.out), **summary}, indent=2) + "\n")
        return 0
    except XAPIError as error:
        log.error("%s", error.message)
        return 2
    finally:
        await client.close()
