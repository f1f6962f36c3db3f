"""Erasure of one learner over every store (docs/data-protection.md, "Erasure of a learner").

The decisions are pure (`statements.erasure`); this module finds what they apply to and
applies them:

- statements: found through the indexed `A:<agent>` keys (every place `related_agents`
  reaches, StatementRef inheritance included), never a scan of the raw text; deleted, or
  rewritten (text and keys together), or re-keyed;
- State and Agent Profile documents of the agent (index `agent` on `documents`): deleted;
- attachment contents no remaining statement carries (found through `h:<sha2>` keys):
  deleted;
- the analytics rollups of the activities of deleted or rewritten statements: recounted
  (a refresh request, filed before the writes and closed after them);
- forwarder events of deleted statements (and their attempt logs, which live inside the
  event): deleted; events of kept statements that still name the agent as learner: the
  learner is replaced by the pseudonym and the response excerpts cleared.

A dry run computes the very same report and writes nothing (not even the pseudonym secret).
Both are audit-logged (`erasure.dry_run`, `erasure.run`).

Writes happen in an order that makes a re-run finish an interrupted erasure: everything
keyed by statement id (events, attachments) goes before the statements themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from pymongo.asynchronous.database import AsyncDatabase

from analytics.refresh import Refreshes, object_activities
from forwarders.erasure_marks import ErasureMarks
from forwarders.events import learner_of
from forwarders.identity.person import actor_keys
from forwarders.identity.store import IDENTITIES
from forwarders.queue import JobStore
from lrs.audit import AuditLog
from lrs.settings import Settings
from lrs.storage import statement_keys
from lrs.storage.cleanup import (
    delete_ids,
    find_ids,
    unreferenced_attachments,
)
from statements.erasure import (
    Candidate,
    ErasurePlan,
    attachment_hashes,
    erasure_keys,
    plan_erasure,
    pseudonym,
)
from statements.errors import BadRequest
from statements.index import agent_key
from statements.types import StatementIndex
from statements.validate import validate_agent

Database = AsyncDatabase[dict[str, Any]]
PSEUDONYM_DOC = "pseudonym_key"
"""`meta` document holding the generated pseudonym secret when LRS_PSEUDONYM_KEY is unset."""
NO_PUBLIC_URL = "https://lrs.invalid"
CANDIDATE_FIELDS = {"raw": 1, "keys": 1, "ref": 1, "voiding": 1, "att": 1}


@dataclass
class ErasureReport:
    agent: str
    """The agent's key (the audit log's target)."""
    keys: list[str]
    dry_run: bool
    pseudonym: dict[str, Any] | None
    """What mentions become (None in a dry run before any erasure made the secret)."""
    statements_deleted: list[str] = field(default_factory=list)
    statements_pseudonymised: list[str] = field(default_factory=list)
    statements_rekeyed: list[str] = field(default_factory=list)
    documents_deleted: list[dict[str, Any]] = field(default_factory=list)
    attachments_deleted: list[str] = field(default_factory=list)
    forwarder_events_deleted: list[str] = field(default_factory=list)
    forwarder_events_scrubbed: list[str] = field(default_factory=list)
    identities_deleted: list[str] = field(default_factory=list)
    """Employee ids of HRIS people whose identifiers include the agent's."""

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in asdict(self).items() if isinstance(v, list) and k != "keys"}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts()}


def parse_agent(value: Any) -> dict[str, Any]:
    """The agent to erase: an Agent or identified Group, as in the `agent` query parameter."""
    problems = validate_agent(value, "2.0.0")
    if problems:
        first = problems[0]
        raise BadRequest(
            f"agent is not a valid Agent: {first.path or '/'}: {first.message}",
            {"field": "agent", "rule": first.rule, "path": first.path},
        )
    assert isinstance(value, dict)  # noqa: S101 - validate_agent accepts only objects
    return value


def pseudonym_home(settings: Settings) -> str:
    base = settings.public_url or NO_PUBLIC_URL
    return base.rstrip("/") + "/erased"


async def pseudonym_secret(db: Database, settings: Settings, *, create: bool) -> bytes | None:
    """The configured secret, else the installation's generated one (made on first use)."""
    if settings.pseudonym_key:
        return settings.pseudonym_key.encode()
    meta = db["meta"]
    if create:
        fresh = secrets.token_hex(32)
        await meta.update_one(
            {"_id": PSEUDONYM_DOC}, {"$setOnInsert": {"value": fresh}}, upsert=True
        )
    doc = await meta.find_one({"_id": PSEUDONYM_DOC})
    return None if doc is None else str(doc["value"]).encode()


async def erase_agent(
    db: Database, settings: Settings, agent: Mapping[str, Any], *, dry_run: bool
) -> ErasureReport:
    keys = erasure_keys(agent)
    secret = await pseudonym_secret(db, settings, create=not dry_run)
    replacement = pseudonym(keys, secret or secrets.token_bytes(32), pseudonym_home(settings))
    docs, outside = await _candidates(db, keys)
    candidates = [
        Candidate(d["_id"], orjson.loads(d["raw"]), d.get("ref"), bool(d.get("voiding")))
        for d in docs
    ]
    plan = plan_erasure(candidates, keys, replacement, outside)
    report = ErasureReport(
        agent=keys[0],
        keys=list(keys),
        dry_run=dry_run,
        pseudonym=replacement if secret is not None else None,
        statements_deleted=list(plan.deleted),
        statements_pseudonymised=[k.id for k in plan.pseudonymised],
        statements_rekeyed=[k.id for k in plan.rekeyed],
    )
    report.attachments_deleted = await _orphans(db, docs, plan)
    documents = await _documents(db, keys)
    report.documents_deleted = [_document_id(d) for d in documents]
    events = _Events(JobStore(db), plan, keys, [c.id for c in candidates if c.voiding])
    report.identities_deleted = await _people(db, agent)
    if dry_run:
        report.forwarder_events_deleted, report.forwarder_events_scrubbed = await events.find()
        return report
    # marked from the first look for events to after the second: a writer of new events
    # that saw no erasure across its read and write skips reading its statements back
    async with ErasureMarks(db).erasing():
        report.forwarder_events_deleted, report.forwarder_events_scrubbed = await events.find()
        refreshes = Refreshes(db)
        changed = [c.statement for c in candidates if c.id in _changed(plan)]
        request = await refreshes.open(object_activities(changed))
        learner = learner_of(replacement)
        await events.erase(
            report.forwarder_events_deleted, report.forwarder_events_scrubbed, learner
        )
        await delete_ids(db["documents"], [d["_id"] for d in documents])
        await delete_ids(db["attachments"], report.attachments_deleted)
        await delete_ids(db[IDENTITIES], report.identities_deleted)
        await _rewrite(db, plan, {d["_id"]: d for d in docs}, keys, replacement)
        await delete_ids(db["statements"], list(plan.deleted))
        # events written meanwhile from the statements as they were (`forwarders.erased`)
        deleted, scrubbed = await events.find()
        await events.erase(deleted, scrubbed, learner)
        report.forwarder_events_deleted += deleted
        report.forwarder_events_scrubbed += scrubbed
        await refreshes.close(request)
    return report


@dataclass(frozen=True, slots=True)
class _Events:
    """The forwarder events of the erased statements: those of deleted statements go, and
    those of kept statements whose learner is the agent are scrubbed. Looked for before the
    statements change and again after, for an event written meanwhile from a statement read
    before the change: its writer reads the statement back after its write, so one of the
    two sees it (`forwarders.erased`)."""

    jobs: JobStore
    plan: ErasurePlan
    keys: tuple[str, ...]
    voiding: list[str]
    """The voiding candidates, which name the revocations they caused."""

    async def find(self) -> tuple[list[str], list[str]]:
        """(events to delete, events to scrub)."""
        kept = [k.id for k in (*self.plan.pseudonymised, *self.plan.rekeyed)]
        deleted = await self.jobs.of_statements(list(self.plan.deleted), voiding=self.voiding)
        scrubbed = await self.jobs.of_statements(kept, self.keys, voiding=self.voiding)
        return deleted, scrubbed

    async def erase(self, deleted: list[str], scrubbed: list[str], learner: dict[str, Any]) -> None:
        await self.jobs.delete(deleted)
        await self.jobs.scrub_learner(scrubbed, learner)


def _changed(plan: ErasurePlan) -> set[str]:
    """Statements whose contribution to the rollups changes: deleted or rewritten."""
    return {*plan.deleted, *(k.id for k in plan.pseudonymised)}


async def run_erasure(
    db: Database,
    settings: Settings,
    audit: AuditLog,
    agent: Mapping[str, Any],
    *,
    dry_run: bool,
    actor: str,
    source: str | None,
) -> ErasureReport:
    """Erase (or report what erasing would touch) and write the audit entry."""
    report = await erase_agent(db, settings, agent, dry_run=dry_run)
    await audit.record(
        actor=actor,
        action="erasure.dry_run" if dry_run else "erasure.run",
        target=report.agent,
        source=source,
        details=report.counts(),
    )
    return report


async def _candidates(
    db: Database, keys: tuple[str, ...]
) -> tuple[list[dict[str, Any]], dict[str, StatementIndex]]:
    """Every statement related to the agent (one indexed `$in` on `keys`), and the stored
    index of each statement they target that is not itself a candidate."""
    statements = db["statements"]
    related = statement_keys.FILTER_PREFIXES["related_agents"]
    match = {"keys": {"$in": [a for k in keys for a in statement_keys.alternatives(related + k)]}}
    docs = [doc async for doc in statements.find(match, CANDIDATE_FIELDS)]
    ids = {doc["_id"] for doc in docs}
    refs = sorted({d["ref"] for d in docs if d.get("ref") and d["ref"] not in ids})
    targets = await find_ids(statements, refs, {"keys": 1})
    return docs, {t["_id"]: statement_keys.index_from_keys(t.get("keys", ())) for t in targets}


async def _orphans(db: Database, docs: list[dict[str, Any]], plan: ErasurePlan) -> list[str]:
    """Contents carried by deleted statements (or dropped signatures) that nothing keeps."""
    carried = _carried(plan)
    hashes = [h for d in docs for h in d.get("att", ()) if h not in carried.get(d["_id"], (h,))]

    def remaining(doc: dict[str, Any]) -> Sequence[str]:
        statement_id: str = doc["_id"]
        if statement_id in carried:
            return carried[statement_id]
        return [str(h) for h in doc.get("att", ())]

    return await unreferenced_attachments(db["statements"], hashes, remaining)


def _carried(plan: ErasurePlan) -> dict[str, tuple[str, ...]]:
    """What each decided statement carries afterwards: nothing once deleted, the rewritten
    text's attachments once pseudonymised (re-keyed ones keep theirs: absent here)."""
    carried: dict[str, tuple[str, ...]] = dict.fromkeys(plan.deleted, ())
    for kept in plan.pseudonymised:
        assert kept.statement is not None  # noqa: S101 - pseudonymised means rewritten
        carried[kept.id] = attachment_hashes(kept.statement)
    return carried


async def _people(db: Database, agent: Mapping[str, Any]) -> list[str]:
    """The HRIS people the agent resolves to (any of its identifiers): their record holds
    the same personal data, and an erased learner must not be re-identified through it. A
    later HRIS import that still lists the person brings the record back, by design."""
    keys = list(actor_keys(agent))
    if not keys:
        return []
    return [doc["_id"] async for doc in db[IDENTITIES].find({"keys": {"$in": keys}}, {"_id": 1})]


async def _documents(db: Database, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    projection = {"kind": 1, "activity": 1, "registration": 1, "doc_id": 1}
    return [d async for d in db["documents"].find({"agent": {"$in": list(keys)}}, projection)]


def _document_id(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": doc["kind"],
        "activity": doc.get("activity"),
        "registration": doc.get("registration"),
        "id": doc["doc_id"],
    }


async def _rewrite(
    db: Database,
    plan: ErasurePlan,
    docs: Mapping[str, Mapping[str, Any]],
    keys: tuple[str, ...],
    replacement: Mapping[str, Any],
) -> None:
    """New text and keys of pseudonymised statements, new keys of re-keyed ones."""
    renamed_to = agent_key(replacement)
    assert renamed_to is not None  # noqa: S101 - a pseudonym always has an account
    authorities = dict.fromkeys(keys, renamed_to)
    for kept in (*plan.pseudonymised, *plan.rekeyed):
        doc = docs[kept.id]
        att = doc.get("att", ())
        if kept.statement is not None:  # what it still declares, of the bytes it came with
            att = [h for h in attachment_hashes(kept.statement) if h in att]
        new_keys = statement_keys.rekeyed(
            doc.get("keys", ()), kept.index, authorities=authorities, attachments=att
        )
        fields: dict[str, Any] = {"keys": new_keys}
        if kept.statement is not None:
            fields.update(raw=orjson.dumps(kept.statement).decode(), att=list(att))
        await db["statements"].update_one({"_id": kept.id}, {"$set": fields})
