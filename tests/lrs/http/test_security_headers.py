"""Nothing the LRS serves is rendered by a browser as active content from the LRS's origin.

Documents and attachments are stored byte for byte with the Content-Type their writer chose,
`text/html` included; a page elsewhere can fetch them back through the alternate syntax. So
every answer forbids sniffing and active content, and stored bytes come as downloads.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from urllib.parse import urlencode

import orjson
import pytest

from statements.multipart import build_multipart_mixed
from statements.types import Attachment
from tests.conftest import basic

HTML = b"<html><script>fetch('/admin/credentials')</script></html>"
V1 = {"X-Experience-API-Version": "1.0.3"}
ACTIVITY = "http://example.com/activities/html"
AGENT = json.dumps({"mbox": "mailto:ada@example.com"})
DOCUMENTS = {
    "/xapi/activities/state": {"activityId": ACTIVITY, "agent": AGENT, "stateId": "page"},
    "/xapi/activities/profile": {"activityId": ACTIVITY, "profileId": "page"},
    "/xapi/agents/profile": {"agent": AGENT, "profileId": "page"},
}


def assert_inert(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy


@pytest.mark.parametrize("path", sorted(DOCUMENTS))
async def test_a_stored_html_document_comes_back_as_an_inert_download(client, path):
    params = DOCUMENTS[path]
    stored = await client.put(
        path, params=params, content=HTML, headers={"Content-Type": "text/html"}
    )
    assert stored.status_code == 204, stored.text
    got = await client.get(path, params=params)
    assert got.status_code == 200 and got.content == HTML
    assert_inert(got)
    assert got.headers["Content-Disposition"] == "attachment"


async def test_a_document_fetched_by_a_cross_site_form_is_an_inert_download(client):
    """The probe's vector: a plain HTML form POSTing `?method=GET` with the credential."""
    path = "/xapi/activities/state"
    params = DOCUMENTS[path]
    await client.put(path, params=params, content=HTML, headers={"Content-Type": "text/html"})
    form = {**params, "Authorization": client.headers["Authorization"], **V1}
    got = await client.post(
        f"{path}?method=GET",
        content=urlencode(form),
        headers={
            "Authorization": "",
            "X-Experience-API-Version": "",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert got.status_code == 200 and got.content == HTML
    assert_inert(got)
    assert got.headers["Content-Disposition"] == "attachment"


async def test_statements_with_their_attachments_come_as_an_inert_download(client, make_statement):
    content = HTML
    sha2 = hashlib.sha256(content).hexdigest()
    attachment = {
        "usageType": "http://example.com/usage/page",
        "display": {"en-US": "a page"},
        "contentType": "text/html",
        "length": len(content),
        "sha2": sha2,
    }
    statement = make_statement(id=str(uuid.uuid4()), attachments=[attachment])
    body = build_multipart_mixed(
        orjson.dumps(statement), [Attachment(sha2, "text/html", content)], "b0undary"
    )
    posted = await client.post(
        "/xapi/statements",
        content=body,
        headers={"Content-Type": "multipart/mixed; boundary=b0undary"},
    )
    assert posted.status_code == 200, posted.text
    got = await client.get(
        "/xapi/statements", params={"statementId": statement["id"], "attachments": "true"}
    )
    assert got.headers["Content-Type"].startswith("multipart/mixed")
    assert_inert(got)
    assert got.headers["Content-Disposition"] == "attachment"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/xapi/about", {}),
        ("/xapi/statements", {"Authorization": ""}),
        ("/xapi/nowhere", {}),
        ("/healthz", {}),
        ("/admin/credentials", {"Authorization": ""}),
    ],
)
async def test_every_answer_forbids_sniffing_and_active_content(client, path, headers):
    assert_inert(await client.get(path, headers=headers))


async def test_admin_401_does_not_invite_a_browser_to_remember_basic_credentials(client):
    response = await client.get("/admin/credentials", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="admin"'
    wrong = await client.get("/admin/credentials", headers={"Authorization": basic("k", "s")})
    assert wrong.status_code == 401
    assert not wrong.headers["WWW-Authenticate"].lower().startswith("basic")


async def test_xapi_401_still_offers_basic(client):
    response = await client.get("/xapi/statements", headers={"Authorization": ""})
    assert response.headers["WWW-Authenticate"] == 'Basic realm="xAPI"'
