"""The write path for statements: validate everything, then prepare, then store.

Nothing is written before every statement of the batch (and every attachment) has passed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from lrs.auth.scopes import Credential, may_define
from lrs.services import Services
from lrs.storage.protocols import NewStatement
from lrs.storage.sequence import ms_of, stored_string
from statements.attachments import carried_hashes, match_attachments, signature_parts
from statements.errors import DuplicateStatementIds, PayloadTooLarge
from statements.index import agent_key, derive_index, statement_ref_target
from statements.prepare import prepare_statement
from statements.signatures import verify_statement_signature
from statements.types import Attachment, SpecVersion
from statements.vocabulary import Vocabulary, classify, default_vocabulary


def _new_id() -> str:
    return str(uuid.uuid4())


def check_batch(services: Services, statements: Sequence[Any], version: SpecVersion) -> None:
    if len(statements) > services.settings.max_batch_statements:
        raise PayloadTooLarge(
            f"a batch may hold at most {services.settings.max_batch_statements} statements",
            {"limit": services.settings.max_batch_statements, "received": len(statements)},
        )
    services.validators[version].validate_batch(list(statements))
    ids = Counter(str(s["id"]).lower() for s in statements if "id" in s)
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        raise DuplicateStatementIds(duplicates)


def check_attachments(
    statements: Sequence[dict[str, Any]], parts: Sequence[Attachment], *, multipart: bool
) -> dict[str, Attachment]:
    by_hash = match_attachments(statements, parts, multipart=multipart)
    for i, statement in enumerate(statements):
        path = f"/{i}" if len(statements) > 1 else ""
        for signature in signature_parts(statement, by_hash, path=path):
            verify_statement_signature(statement, signature.content, path=path)
    return by_hash


async def store_statements(
    services: Services,
    credential: Credential,
    version: SpecVersion,
    statements: Sequence[dict[str, Any]],
    parts: Sequence[Attachment] = (),
    *,
    multipart: bool = False,
) -> list[str]:
    """Validate, prepare and store a batch; returns the ids in order."""
    check_batch(services, statements, version)
    by_hash = check_attachments(statements, parts, multipart=multipart)
    vocabulary = await services.analytics.vocabulary.refresh()
    seqs = services.clock.take(len(statements))
    services.in_flight.update(seqs)
    try:
        ready = [
            _new_statement(statement, seq, credential, version, by_hash.keys(), vocabulary)
            for statement, seq in zip(statements, seqs, strict=True)
        ]
        ids = await services.statements.insert_statements(ready, list(by_hash.values()))
        if may_define(credential):
            await services.activities.record_definitions(ready)
        return ids
    finally:
        services.in_flight.difference_update(seqs)


def _new_statement(
    statement: dict[str, Any],
    seq: int,
    credential: Credential,
    version: SpecVersion,
    received: Collection[str] = (),
    vocabulary: Vocabulary | None = None,
) -> NewStatement:
    prepared = prepare_statement(
        statement,
        version=version,
        authority=credential.authority,
        stored=stored_string(ms_of(seq)),
        new_id=_new_id,
    )
    return NewStatement(
        id=str(prepared["id"]).lower(),
        seq=seq,
        statement=prepared,
        raw=orjson.dumps(prepared).decode(),
        index=derive_index(prepared),
        ref=statement_ref_target(prepared),
        authority_key=agent_key(credential.authority),
        attachment_hashes=carried_hashes(prepared, received),
        canonical=classify(prepared, vocabulary or default_vocabulary()),
    )
