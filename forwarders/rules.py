"""Forwarder configuration and the rule that decides which statements it reacts to.

A forwarder reacts to a statement when its canonical verb (`statements.vocabulary`: the
word the vocabulary makes of the verb, result-aware) is one the forwarder takes, and the
object is an Activity passing its activity filters. A forwarder names its verbs as plain
words (`completed`) or as verb IRIs (default: ADL `completed` and `passed`); an IRI the
vocabulary maps to a word stands for that word, so every provider's alias matches (w3id's
`completed`, Activity Streams' `complete`), and a statement whose `result` contradicts the
word (`completed` with `result.completion` false) matches none of them. An IRI without an
alias matches itself. Then the activity filters:
- the id filter: the id is one of `activity_ids` or starts with one of `activity_prefixes`
  (either list set means the filter applies; the two lists are alternatives);
- the type filter: `object.definition.type` is one of `activity_types`.
Both filters must hold when both are set. Only the statement's own object counts (not its
context activities, not definitions stored from other statements): the decision is a pure
function of the statement and the vocabulary, so a re-scan decides exactly as the live
path did. Discovery passes the canonical verb stored beside the statement (what the
vocabulary in force at ingest made of it), so forwarding and analytics agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from forwarders.events import as_mapping
from forwarders.mapping.template import (
    KINDS_WITH_TEMPLATES,
    Template,
    default_template,
)
from statements.vocabulary import Vocabulary, canonical_verb, default_vocabulary

Kind = Literal["marketplace", "crm", "generic"]
KINDS: tuple[Kind, ...] = ("marketplace", "crm", "generic")
Terminated = Literal["drop", "send"]
TERMINATED: tuple[Terminated, ...] = ("drop", "send")
ADL = "http://adlnet.gov/expapi/verbs/"
DEFAULT_VERBS = (ADL + "completed", ADL + "passed")
MAX_IN_FLIGHT = 64
MAX_LIST = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """A `whsec_` secret; during a rotation the old one gets an `expires` and both sign."""

    id: str
    value: str
    added: datetime
    expires: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires is None or self.expires > now


@dataclass(frozen=True, slots=True)
class Forwarder:
    id: str
    name: str
    url: str
    kind: Kind = "generic"
    verbs: tuple[str, ...] = DEFAULT_VERBS
    activity_ids: tuple[str, ...] = ()
    activity_prefixes: tuple[str, ...] = ()
    activity_types: tuple[str, ...] = ()
    paused: bool = False
    paused_reason: str | None = None
    max_in_flight: int = 4
    """Deliveries in flight at once, per worker: a slow receiver only holds its own lanes."""
    secrets: tuple[SigningSecret, ...] = ()
    created: datetime = EPOCH
    template: Template | None = None
    """The mapping template; None: the shipped default of the kind (unused for generic)."""
    terminated: Terminated = "drop"
    """Events of a terminated person: dropped, or still sent."""

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.value for s in self.secrets if s.active(now)]

    def mapping_template(self) -> Template | None:
        """The template payloads are rendered with: None for a generic forwarder."""
        if self.kind not in KINDS_WITH_TEMPLATES:
            return None
        return self.template or default_template(self.kind)


def wanted_verbs(forwarder: Forwarder, vocabulary: Vocabulary) -> frozenset[str]:
    """The canonical verbs the forwarder takes: each of its verbs as the vocabulary names it
    (an aliased IRI becomes its word; a plain word or an unaliased IRI stays itself)."""
    return frozenset(vocabulary.aliases.get(verb, verb) for verb in forwarder.verbs)


def verb_iris(words: Iterable[str], vocabulary: Vocabulary) -> frozenset[str]:
    """Every verb IRI a statement with one of these canonical verbs can carry (the aliases
    of each word, and each unaliased IRI itself): the verb keys discovery reads."""
    wanted = set(words)
    aliases = {iri for iri, word in vocabulary.aliases.items() if word in wanted}
    return frozenset(aliases | {w for w in wanted if ":" in w})


def matches(
    forwarder: Forwarder,
    statement: Mapping[str, Any],
    vocabulary: Vocabulary | None = None,
    *,
    canonical: str | None = None,
) -> bool:
    """Whether the forwarder takes the statement. `canonical` is the canonical verb stored
    beside it; without one it is derived now, with `vocabulary` (default: the packaged)."""
    vocabulary = vocabulary or default_vocabulary()
    verb = canonical if canonical is not None else canonical_verb(statement, vocabulary)
    if verb not in wanted_verbs(forwarder, vocabulary):
        return False
    obj = as_mapping(statement.get("object"))
    if obj.get("objectType", "Activity") != "Activity":
        return False
    activity_id = obj.get("id")
    if not isinstance(activity_id, str):
        return False
    if (forwarder.activity_ids or forwarder.activity_prefixes) and not (
        activity_id in forwarder.activity_ids
        or any(activity_id.startswith(p) for p in forwarder.activity_prefixes)
    ):
        return False
    if forwarder.activity_types:
        return as_mapping(obj.get("definition")).get("type") in forwarder.activity_types
    return True
