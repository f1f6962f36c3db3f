"""Erasure of one learner (GDPR art. 17): which statements go, which stay pseudonymised, and
how a statement is rewritten. Pure decisions; `lrs.erasure` applies them to the stores.

The policy (docs/data-protection.md):

- A statement whose actor *is* the agent (an Agent, or an identified Group whose IFI is the
  agent's) is the agent's learning record: it is deleted.
- A statement that only mentions the agent elsewhere (object, authority, context instructor,
  team, contextAgents, contextGroups, SubStatement parts, or as a member of a Group,
  including a Group actor) records someone else's learning: it stays, and every occurrence
  of the agent is replaced by one stable pseudonymous Agent (`pseudonym`), so repeated
  mentions stay linkable without revealing the person.
- A voiding statement of the agent is deleted only together with its target. When the
  target stays (someone else's statement) or has not arrived, the voiding statement is
  pseudonymised instead: deleting it would leave a voided statement with no voiding
  statement behind it, or let a later copy of the target arrive un-voided.
- A pseudonymised statement loses its signature attachments: a JWS signature covers (and
  carries) the original text, agent included, and no longer matches the rewritten one.
- A statement that matches the agent only through a StatementRef (it inherited the target's
  filter values, Communication 2.1.3) keeps its text; its index is recomputed from its own
  (rewritten) content and its target's new index, or its own alone when the target is gone.

An mbox is also erased in its `mbox_sha1sum` form: both identify the same mailbox.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from statements.attachments import SIGNATURE_USAGE
from statements.index import agent_key, derive_index, merge_targeted, normalize_mbox
from statements.types import Statement, StatementIndex

MAX_TARGETING_DEPTH = 10
PSEUDONYM_BYTES = 16
"""Bytes of the HMAC kept in a pseudonym's account name (128 bits: no collisions in practice)."""
AGENT_SLOTS = ("instructor", "team")


def erasure_keys(agent: Mapping[str, Any]) -> tuple[str, ...]:
    """The IFI keys that identify the agent: its own, plus the sha1 form of an mbox."""
    key = agent_key(agent)
    if key is None:
        return ()
    mbox = agent.get("mbox")
    if not isinstance(mbox, str):
        return (key,)
    forms = dict.fromkeys((normalize_mbox(mbox), mbox))
    # the xAPI mbox_sha1sum IFI is SHA-1 of the mailto IRI by definition
    sha1 = (hashlib.sha1(f.encode(), usedforsecurity=False).hexdigest() for f in forms)
    return tuple(dict.fromkeys((key, *("mbox_sha1sum::" + h for h in sha1))))


def pseudonym(keys: tuple[str, ...], secret: bytes, home_page: str) -> dict[str, Any]:
    """The stable pseudonymous Agent that replaces the agent: an account whose name is an
    HMAC of the agent's key. Same installation secret and agent -> same pseudonym (an mbox
    and its sha1 form erase to one pseudonym); without the secret it reveals nothing."""
    identity = next((k for k in keys if k.startswith("mbox_sha1sum::")), keys[0])
    digest = hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()
    return {
        "objectType": "Agent",
        "account": {"homePage": home_page, "name": digest[: 2 * PSEUDONYM_BYTES]},
    }


def actor_is(statement: Mapping[str, Any], keys: Iterable[str]) -> bool:
    """Is the agent the statement's actor itself (not a mere member of a Group actor)?"""
    actor = statement.get("actor")
    return isinstance(actor, dict) and agent_key(actor) in set(keys)


# -- rewriting ------------------------------------------------------------------------------


class _Rewriter:
    def __init__(self, keys: Iterable[str], replacement: Mapping[str, Any]) -> None:
        self.keys = frozenset(keys)
        self.replacement = dict(replacement)

    def agent(self, value: Any) -> Any:
        """An Agent or Group with every occurrence of the agent (itself, members) replaced."""
        if not isinstance(value, dict):
            return value
        if agent_key(value) in self.keys:
            if value.get("objectType") != "Group":
                return dict(self.replacement)
            replaced = {"objectType": "Group", "account": dict(self.replacement["account"])}
            if "member" in value:
                replaced["member"] = value["member"]
            value = replaced
        members = value.get("member")
        if isinstance(members, list):
            value = {**value, "member": [self.agent(m) for m in members]}
        return value

    def statement(self, statement: Mapping[str, Any]) -> dict[str, Any]:
        """Actor, object, authority and context, and the same places of a SubStatement."""
        out = dict(statement)
        for slot in ("actor", "authority"):
            if slot in out:
                out[slot] = self.agent(out[slot])
        obj = out.get("object")
        if isinstance(obj, dict):
            if obj.get("objectType") in ("Agent", "Group"):
                out["object"] = self.agent(obj)
            elif obj.get("objectType") == "SubStatement":
                out["object"] = self.statement(obj)
        if isinstance(out.get("context"), dict):
            out["context"] = self.context(out["context"])
        return out

    def context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(context)
        for slot in AGENT_SLOTS:
            if slot in out:
                out[slot] = self.agent(out[slot])
        for slot, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
            entries = out.get(slot)
            if isinstance(entries, list):
                out[slot] = [
                    {**e, inner: self.agent(e.get(inner))}
                    if isinstance(e, dict) and inner in e
                    else e
                    for e in entries
                ]
        return out


def rewrite_statement(
    statement: Mapping[str, Any], keys: Iterable[str], replacement: Mapping[str, Any]
) -> dict[str, Any]:
    """The statement with every occurrence of the agent replaced by `replacement` and, if
    that changed anything, without its signature attachments; equal to the original when
    the agent does not occur in it."""
    rewritten = _Rewriter(keys, replacement).statement(statement)
    if rewritten == statement:
        return rewritten
    attachments = rewritten.get("attachments")
    if isinstance(attachments, list):
        unsigned = [a for a in attachments if not _is_signature(a)]
        if unsigned:
            rewritten["attachments"] = unsigned
        else:
            del rewritten["attachments"]
    return rewritten


def _is_signature(attachment: Any) -> bool:
    return isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE


def attachment_hashes(statement: Mapping[str, Any]) -> tuple[str, ...]:
    """The SHA-256 of every attachment a statement declares (as stored beside it)."""
    attachments = statement.get("attachments")
    if not isinstance(attachments, list):
        return ()
    found = (str(a["sha2"]).lower() for a in attachments if isinstance(a, dict) and "sha2" in a)
    return tuple(dict.fromkeys(found))


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored statement whose keys relate it to the agent."""

    id: str
    statement: Statement
    ref: str | None
    """The id its StatementRef targets."""
    voiding: bool


@dataclass(frozen=True, slots=True)
class Kept:
    """A statement that stays: its new text (None when unchanged) and its new index."""

    id: str
    statement: Statement | None
    index: StatementIndex


@dataclass(frozen=True, slots=True)
class ErasurePlan:
    deleted: tuple[str, ...]
    pseudonymised: tuple[Kept, ...]
    """Statements whose text mentioned the agent, rewritten."""
    rekeyed: tuple[Kept, ...]
    """Statements that matched the agent only through a StatementRef: new index only."""


def plan_erasure(
    candidates: Iterable[Candidate],
    keys: tuple[str, ...],
    replacement: Mapping[str, Any],
    outside_targets: Mapping[str, StatementIndex],
) -> ErasurePlan:
    """Decide every candidate. `outside_targets` holds the stored indexes of the statements
    that candidates target but that are not candidates themselves (they stay as they are)."""
    by_id = {c.id: c for c in candidates}
    deleted = _deleted(by_id, keys)
    texts = {
        c.id: rewrite_statement(c.statement, keys, replacement)
        for c in by_id.values()
        if c.id not in deleted
    }
    indexes = _Indexes(texts, by_id, deleted, outside_targets)
    pseudonymised: list[Kept] = []
    rekeyed: list[Kept] = []
    for statement_id, text in texts.items():
        changed = text != by_id[statement_id].statement
        kept = Kept(statement_id, text if changed else None, indexes.of(statement_id, 0))
        (pseudonymised if changed else rekeyed).append(kept)
    return ErasurePlan(tuple(sorted(deleted)), tuple(pseudonymised), tuple(rekeyed))


def _deleted(by_id: Mapping[str, Candidate], keys: tuple[str, ...]) -> set[str]:
    """The agent's own statements; its voiding statements only with their target."""
    own = [c for c in by_id.values() if actor_is(c.statement, keys)]
    deleted = {c.id for c in own if not c.voiding}
    voiding = [c for c in own if c.voiding]
    while True:  # a voiding statement may target another voiding one: follow the chain
        more = {c.id for c in voiding if c.ref in deleted and c.id not in deleted}
        if not more:
            return deleted
        deleted |= more


class _Indexes:
    """New indexes of the kept candidates, targets first (StatementRef inheritance)."""

    def __init__(
        self,
        texts: Mapping[str, Statement],
        by_id: Mapping[str, Candidate],
        deleted: set[str],
        outside: Mapping[str, StatementIndex],
    ) -> None:
        self.texts, self.by_id, self.deleted, self.outside = texts, by_id, deleted, outside
        self.memo: dict[str, StatementIndex] = {}

    def of(self, statement_id: str, depth: int) -> StatementIndex:
        if statement_id in self.memo:
            return self.memo[statement_id]
        own = derive_index(self.texts[statement_id])
        ref = self.by_id[statement_id].ref
        target = self._target(ref, depth) if ref and depth < MAX_TARGETING_DEPTH else None
        index = own if target is None else merge_targeted(own, target)
        self.memo[statement_id] = index
        return index

    def _target(self, ref: str, depth: int) -> StatementIndex | None:
        if ref in self.deleted:
            return None
        if ref in self.texts:
            return self.of(ref, depth + 1)
        return self.outside.get(ref)
