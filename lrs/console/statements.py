"""The statements browser and voiding, through the same query and ingest path as the API.

Filters are the GET /xapi/statements parameters, parsed by `parse_statement_params` and run
by the statement store; `more` continues with the API's own cursor. Each statement shows its
canonical verb and the HRIS employee id its actor resolves to. Voiding posts a voiding
statement through `lrs.ingest.store_statements`, exactly as a client would, so every voiding
rule applies; the console adds the confirmation page and the audit entry.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import RedirectResponse, Response

from lrs.auth.scopes import statement_read_mode
from lrs.console.guard import Visit
from lrs.ingest import store_statements
from statements.errors import NotFound
from statements.formats import is_uuid
from statements.index import agent_key
from statements.query import more_params, parse_statement_params
from statements.types import StatementQuery
from statements.vocabulary import canonical_verb

FILTERS = ("agent", "verb", "activity", "registration", "since", "until")
PAGE = 20
VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
VOIDED = "statement.voided"


def _own(visit: Visit) -> str | None:
    mine = statement_read_mode(visit.credential) == "mine"
    return agent_key(visit.credential.authority) if mine else None


async def browse(visit: Visit) -> Response:
    own = _own(visit)
    params = [
        (name, value.strip())
        for name, value in visit.request.query_params.multi_items()
        if name in (*FILTERS, "cursor") and value.strip()
    ]
    filters = {name: value for name, value in params if name in FILTERS}
    settings = visit.services.settings
    query = parse_statement_params(
        params, "2.0.0", default_limit=PAGE, max_limit=settings.max_query_limit
    )
    assert isinstance(query, StatementQuery)  # noqa: S101 - no statementId is passed on
    page = await visit.services.statements.find_statements(query, authority_key=own)
    more = None
    if page.more_after is not None:
        more = "/console/statements?" + urlencode(more_params(params, page.more_after))
    rows = await _enriched(visit, [_row(stored.raw) for stored in page.statements])
    return visit.render(
        "statements.html",
        filters=filters,
        fields=FILTERS,
        rows=rows,
        more=more,
        voided=visit.request.query_params.get("voided", ""),
    )


def _row(raw: str) -> dict[str, Any]:
    statement = orjson.loads(raw)
    return {
        "id": statement["id"],
        "verb": statement.get("verb", {}).get("id", ""),
        "stored": statement.get("stored", ""),
        "raw": raw,
        "statement": statement,
    }


async def _enriched(visit: Visit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its canonical verb (the vocabulary in force, as ingest classifies) and
    the HRIS employee id its actor resolves to (one query for the page; none when the
    actor resolves to no one, or to several people)."""
    vocabulary = await visit.services.analytics.vocabulary.refresh()
    actors = [row["statement"].get("actor") or {} for row in rows]
    resolutions = await visit.services.identities.store.resolve_many(actors)
    for row, resolution in zip(rows, resolutions, strict=True):
        row["canonical_verb"] = canonical_verb(row["statement"], vocabulary)
        person = resolution.person
        row["employee_id"] = person.employee_id if person is not None else None
    return rows


async def _statement(visit: Visit) -> dict[str, Any]:
    statement_id = str(visit.request.path_params["statement_id"])
    found = None
    if is_uuid(statement_id):
        found = await visit.services.statements.get_statement(statement_id, voided=False)
    if found is None:
        raise NotFound(f"no statement {statement_id} (or it is voided already)")
    return _row(found.raw)


async def confirm_void(visit: Visit) -> Response:
    return visit.render("void.html", statement=await _statement(visit))


async def void(visit: Visit) -> Response:
    target = await _statement(visit)
    voiding = {
        "id": str(uuid.uuid4()),
        "actor": visit.credential.authority,
        "verb": {"id": VOIDED_VERB, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target["id"]},
    }
    await store_statements(visit.services, visit.credential, "2.0.0", [voiding])
    await visit.services.audit.record(
        actor=visit.credential.key,
        action=VOIDED,
        target=target["id"],
        source=visit.source,
        details={"voiding_statement": voiding["id"]},
    )
    return RedirectResponse(f"/console/statements?voided={target['id']}", status_code=303)
