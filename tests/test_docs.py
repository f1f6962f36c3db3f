"""The docs keep up with the code: every mapped error class, every `LRS_*` setting."""

from __future__ import annotations

import re
from pathlib import Path

from lrs.errors import ERROR_STATUS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SOURCE_PACKAGES = ("lrs", "forwarders", "statements", "analytics")
SETTING = re.compile(r"\bLRS_[A-Z0-9_]+")


def setting_names() -> set[str]:
    """Every `LRS_*` name the service's source mentions (a prefix such as `LRS_FORWARDER_*`
    in a docstring ends with `_` and is not a setting)."""
    names: set[str] = set()
    for package in SOURCE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= {n for n in SETTING.findall(path.read_text()) if not n.endswith("_")}
    return names


def documented_settings() -> set[str]:
    """The names in the settings table of docs/operations.md (one per row, first column)."""
    text = (DOCS / "operations.md").read_text()
    return set(re.findall(r"^\| `(LRS_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_errors_doc_lists_every_mapped_error_class_with_its_status():
    text = (DOCS / "errors.md").read_text()
    missing = [
        cls.__name__
        for cls, status in ERROR_STATUS.items()
        if f"| `{cls.__name__}` | {status} |" not in text
    ]
    assert missing == []


def test_the_scan_finds_settings_of_the_service_and_of_the_forwarders():
    assert {"LRS_MONGODB_URI", "LRS_FORWARDER_LEASE_SECONDS"} <= setting_names()


def test_operations_doc_has_a_row_for_every_setting_the_source_reads():
    missing = sorted(setting_names() - documented_settings())
    assert missing == [], f"add rows to the settings table of docs/operations.md: {missing}"


def test_operations_doc_lists_no_setting_the_source_does_not_read():
    stale = sorted(documented_settings() - setting_names())
    assert stale == [], f"settings documented but read nowhere: {stale}"
