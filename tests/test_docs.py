"""The docs name every error class the service maps to a status."""

from __future__ import annotations

from pathlib import Path

from lrs.errors import ERROR_STATUS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_errors_doc_lists_every_mapped_error_class_with_its_status():
    text = (DOCS / "errors.md").read_text()
    missing = [
        cls.__name__
        for cls, status in ERROR_STATUS.items()
        if f"| `{cls.__name__}` | {status} |" not in text
    ]
    assert missing == []
