"""The `canonical_verb` column: the plain word a provider's verb IRI means.

Providers say "completed" with several IRIs (ADL, w3id, Activity Streams); an analyst wants
one word. This is a small stand-in table with the aliases named in issue 13; the canonical
vocabulary of `statements/` replaces it (this module's one function is the seam). Verbs not
in the table pass through as their IRI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALIASES: Mapping[str, str] = {
    "http://adlnet.gov/expapi/verbs/attempted": "attempted",
    "https://w3id.org/xapi/adl/verbs/attempted": "attempted",
    "http://adlnet.gov/expapi/verbs/completed": "completed",
    "https://w3id.org/xapi/adl/verbs/completed": "completed",
    "http://activitystrea.ms/schema/1.0/complete": "completed",
    "http://activitystrea.ms/complete": "completed",
    "http://adlnet.gov/expapi/verbs/passed": "passed",
    "https://w3id.org/xapi/adl/verbs/passed": "passed",
    "http://adlnet.gov/expapi/verbs/failed": "failed",
    "https://w3id.org/xapi/adl/verbs/failed": "failed",
    "http://adlnet.gov/expapi/verbs/scored": "scored",
    "http://adlnet.gov/expapi/verbs/attended": "attended",
    "http://activitystrea.ms/attend": "attended",
    "https://w3id.org/xapi/adb/verbs/attended": "attended",
    "http://adlnet.gov/expapi/verbs/voided": "voided",
}


def canonical_verb(statement: Mapping[str, Any]) -> str | None:
    """The canonical word for the statement's verb, or the verb IRI when it has none."""
    verb = statement.get("verb")
    verb_id = verb.get("id") if isinstance(verb, Mapping) else None
    if not isinstance(verb_id, str):
        return None
    return ALIASES.get(verb_id, verb_id)
