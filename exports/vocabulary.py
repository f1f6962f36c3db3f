"""The `canonical_verb` column: the plain word a provider's verb IRI means.

The column is what ingest stored beside the statement (`canon.verb`, classified by the
vocabulary in force then, an operator's extension included), so an export says what the
analytics and the forwarders counted. A statement stored before the LRS classified verbs
has none; it is classified here by `statements.vocabulary`'s packaged default.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from statements import vocabulary


@cache
def _default() -> vocabulary.Vocabulary:
    return vocabulary.default_vocabulary()


def canonical_verb(statement: Mapping[str, Any], stored: str | None = None) -> str | None:
    """The canonical word for the statement's verb, or the verb IRI when it has none."""
    if stored:
        return stored
    return vocabulary.canonical_verb(statement, _default()) or None
