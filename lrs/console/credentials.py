"""The credentials page: list, create with scopes (the secret shown once), revoke.

Changes go through `CredentialAdmin`, the admin API's and the CLI's path, which checks the
scopes and writes the audit entry; the console adds the confirmation before a revocation.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from lrs.auth.credential_admin import CredentialAdmin
from lrs.auth.scopes import KNOWN_SCOPES
from lrs.console.guard import Visit
from statements.errors import BadRequest, NotFound

MAX_NAME = 100
SCOPES = sorted(KNOWN_SCOPES)


def _admin(visit: Visit) -> CredentialAdmin:
    return CredentialAdmin(visit.services.credentials, visit.services.audit)


async def _listing(visit: Visit, status: int = 200, **values: object) -> Response:
    records = await visit.services.credentials.list()
    return visit.render("credentials.html", status, records=records, scopes=SCOPES, **values)


async def credentials(visit: Visit) -> Response:
    return await _listing(visit)


async def create(visit: Visit) -> Response:
    assert visit.form is not None  # noqa: S101 - a POST page
    name = visit.field("name")
    scopes = [s for s in visit.form.getlist("scopes") if isinstance(s, str)]
    if not name or len(name) > MAX_NAME:
        raise BadRequest(f"name: required, at most {MAX_NAME} characters")
    if not scopes:
        raise BadRequest("scopes: choose at least one scope")
    try:
        key, secret = await _admin(visit).create(
            name, scopes, actor=visit.credential.key, source=visit.source
        )
    except ValueError as error:  # unknown scopes, named by the store
        raise BadRequest(f"scopes: {error}") from None
    return await _listing(visit, 201, created={"key": key, "secret": secret, "name": name})


async def confirm_revoke(visit: Visit) -> Response:
    key = str(visit.request.path_params["key"])
    found = [r for r in await visit.services.credentials.list() if r.key == key]
    if not found or found[0].revoked:
        raise NotFound(f"no active credential {key}")
    return visit.render("revoke.html", record=found[0])


async def revoke(visit: Visit) -> Response:
    key = str(visit.request.path_params["key"])
    if not await _admin(visit).revoke(key, actor=visit.credential.key, source=visit.source):
        raise NotFound(f"no credential {key}")
    return RedirectResponse(f"/console/credentials?revoked={key}", status_code=303)
