"""What unmodified xAPI client libraries need from the LRS, beyond what the spec requires:
TinCanJS takes the multipart boundary verbatim after `boundary=`, TinCanPython refuses an
About listing a version it does not know, and older clients PUT profiles without headers."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

import orjson
import pytest

from statements.multipart import build_multipart_mixed, parse_multipart_mixed
from statements.types import Attachment

V1 = {"X-Experience-API-Version": "1.0.3"}
PROFILE = "/xapi/activities/profile"
PROFILE_PARAMS = {"activityId": "http://example.com/activities/p", "profileId": "p1"}


async def test_the_multipart_boundary_is_sent_unquoted_as_a_token(client, make_statement):
    content = b"attached bytes"
    sha2 = hashlib.sha256(content).hexdigest()
    statement = make_statement(
        id=str(uuid.uuid4()),
        attachments=[
            {
                "usageType": "http://example.com/usage",
                "display": {"en-US": "a"},
                "contentType": "text/plain",
                "length": len(content),
                "sha2": sha2,
            }
        ],
    )
    body = build_multipart_mixed(
        orjson.dumps(statement), [Attachment(sha2, "text/plain", content)], "b0undary"
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
    content_type = got.headers["content-type"]
    match = re.fullmatch(r"multipart/mixed; boundary=([0-9A-Za-z-]+)", content_type)
    assert match is not None, content_type
    assert f"\r\n--{match[1]}--".encode() in got.content  # what TinCanJS splits on
    assert [p.content for p in parse_multipart_mixed(got.content, content_type)[1]] == [content]


@pytest.mark.parametrize("version", ["1.0.0", "1.0.1", "1.0.3"])
async def test_about_lists_only_1_0_x_versions_to_a_1_0_x_client(client, version):
    response = await client.get("/xapi/about", headers={"X-Experience-API-Version": version})
    assert response.status_code == 200
    assert response.json()["version"] == ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]


@pytest.mark.parametrize("headers", [{"X-Experience-API-Version": "2.0.0"}, {}])
async def test_about_lists_every_version_to_a_2_0_or_unversioned_client(client, headers):
    client.headers.pop("X-Experience-API-Version")
    response = await client.get("/xapi/about", headers=headers)
    assert response.json()["version"] == ["2.0.0", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]


async def test_a_1_0_3_profile_put_without_precondition_says_which_header_to_send(client):
    response = await client.put(
        PROFILE,
        params=PROFILE_PARAMS,
        content=b"{}",
        headers={**V1, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert "If-None-Match: *" in body["message"]
    assert body["details"]["rule"] == "concurrency.header_required"
    assert body["details"]["required_header"] == "If-None-Match"
    created = await client.put(
        PROFILE,
        params=PROFILE_PARAMS,
        content=b"{}",
        headers={**V1, "Content-Type": "application/json", "If-None-Match": "*"},
    )
    assert created.status_code == 204
    assert json.loads((await client.get(PROFILE, params=PROFILE_PARAMS)).content) == {}
