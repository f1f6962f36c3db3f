"""Domain types shared by the statement modules and the service.

Statements themselves stay plain JSON objects (`dict[str, Any]`): they are stored as received,
so a typed model would only be a lossy copy. The types here describe what the LRS derives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JSONObject = dict[str, Any]
Statement = dict[str, Any]

SpecVersion = Literal["1.0.3", "2.0.0"]
"""The two families of the specification we implement; headers 1.0.0-1.0.3 map to 1.0.3."""

StatementFormat = Literal["exact", "ids", "canonical"]


@dataclass(frozen=True, slots=True)
class StatementIndex:
    """Fields derived from a statement for querying (never merged into the statement).

    Agents are IFI keys (see `statements.index.agent_key`), activities are IRIs.
    `agents`/`activities` hold the direct matches (actor/object, and the members of a
    Group there); the `related_*` sets hold every place the spec's `related_*` query
    parameters reach. Every field is a tuple because a statement whose object is a
    StatementRef also matches what its target matches (Communication 2.1.3 "Filter
    Conditions for StatementRefs"): `statements.index.merge_targeted` unions the target's
    verbs, agents, activities and registrations into the targeting statement's index.
    """

    verbs: tuple[str, ...]
    agents: tuple[str, ...]
    related_agents: tuple[str, ...]
    activities: tuple[str, ...]
    related_activities: tuple[str, ...]
    registrations: tuple[str, ...]
    """Lowercased registration UUIDs."""
    voids: str | None
    """The id of the statement this one voids, when it is a voiding statement."""


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """A parsed GET /statements query (the filters plus paging and output options)."""

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 0
    ascending: bool = False
    format: StatementFormat = "exact"
    attachments: bool = False
    after: int | None = None
    """Continue after this stored-sequence position (from a `more` cursor)."""


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A statement as the store returns it: its JSON text and where it sits in `stored` order."""

    id: str
    seq: int
    raw: str
    attachments: tuple[str, ...] = ()
    """SHA-256 hashes of the attachment contents this statement carries."""
    canonical_verb: str | None = None
    """The canonical verb stored beside the statement at ingest (by the vocabulary then in
    force), when the read asked for it; None otherwise."""


@dataclass(slots=True)
class StatementPage:
    statements: list[StoredStatement]
    more_after: int | None
    """Sequence position to continue from when more results exist, else None."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment's content, keyed by its SHA-256 hex digest."""

    sha2: str
    content_type: str
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
