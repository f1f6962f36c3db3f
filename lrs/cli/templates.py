"""Mapping-template options of `lrs forwarders create|update`: a template file and the lookup
tables it names, read from CSV files next to it (`lookup:skills` -> `skills.csv`).

The texts go to the service as the admin API receives them (`{"csv", "lookups"}`), so the
forwarder stores the template itself and every worker on every machine renders the same.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from forwarders.errors import InvalidForwarder
from forwarders.mapping.template import template_lookup_names


def add_template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template", type=Path, help="mapping template CSV (marketplace/crm; lookups next to it)"
    )
    parser.add_argument(
        "--terminated", choices=["drop", "send"], help="events of terminated people"
    )


def template_spec(path: Path) -> dict[str, Any]:
    """`{"csv", "lookups", "name"}` for a template file: the lookup tables it names, read
    from `<table>.csv` in its directory (a missing one is refused when the template loads)."""
    try:
        text = path.read_text(encoding="utf-8")
        lookups = {
            table: (path.parent / f"{table}.csv").read_text(encoding="utf-8")
            for table in template_lookup_names(text)
            if (path.parent / f"{table}.csv").is_file()
        }
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidForwarder("template", f"cannot read {path}: {error}") from None
    return {"csv": text, "lookups": lookups, "name": re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem)}


def template_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The spec fields the template options ask for (none when not given)."""
    fields: dict[str, Any] = {}
    if getattr(args, "template", None) is not None:
        fields["template"] = template_spec(args.template)
    if getattr(args, "terminated", None) is not None:
        fields["terminated"] = args.terminated
    return fields
