"""The `canonical_verb` column: the plain word a provider's verb IRI means.

One vocabulary serves the whole LRS: `statements.vocabulary` (ADL, w3id, Activity Streams,
ADB and cmi5 aliases, with cmi5's result rules). Exports use its shipped default; an
operator's extension (file or admin API) is not applied to exports yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from statements import vocabulary


@cache
def _default() -> vocabulary.Vocabulary:
    return vocabulary.default_vocabulary()


def canonical_verb(statement: Mapping[str, Any]) -> str | None:
    """The canonical word for the statement's verb, or the verb IRI when it has none."""
    return vocabulary.canonical_verb(statement, _default()) or None
