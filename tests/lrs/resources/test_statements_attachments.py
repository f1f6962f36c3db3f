"""Attachments over HTTP: multipart/mixed in and out, fileUrl-only, stored once per hash."""

from __future__ import annotations

import hashlib
import uuid

import orjson

from statements.multipart import build_multipart_mixed, parse_multipart_mixed
from statements.types import Attachment

USAGE = "http://example.com/attachment-usage/test"


def attachment_for(content: bytes, **extra):
    return {
        "usageType": USAGE,
        "display": {"en-US": "a file"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
        **extra,
    }


def multipart(statements, *contents: bytes):
    parts = [Attachment(hashlib.sha256(c).hexdigest(), "text/plain", c) for c in contents]
    body = build_multipart_mixed(orjson.dumps(statements), parts, "xyzBOUNDARYzyx")
    return body, {"Content-Type": 'multipart/mixed; boundary="xyzBOUNDARYzyx"'}


async def test_multipart_statement_with_attachment_round_trips(client, make_statement):
    content = b"hello attachments"
    statement = make_statement(id=str(uuid.uuid4()), attachments=[attachment_for(content)])
    body, headers = multipart(statement, content)
    response = await client.post("/xapi/statements", content=body, headers=headers)
    assert response.status_code == 200, response.text
    got = await client.get(
        "/xapi/statements", params={"statementId": statement["id"], "attachments": "true"}
    )
    assert got.headers["content-type"].startswith("multipart/mixed")
    first, parts = parse_multipart_mixed(got.content, got.headers["content-type"])
    assert orjson.loads(first)["id"] == statement["id"]
    assert [p.content for p in parts] == [content]


async def test_without_attachments_parameter_only_json_is_returned(client, make_statement):
    content = b"plain"
    statement = make_statement(id=str(uuid.uuid4()), attachments=[attachment_for(content)])
    body, headers = multipart(statement, content)
    await client.post("/xapi/statements", content=body, headers=headers)
    got = await client.get("/xapi/statements", params={"statementId": statement["id"]})
    assert got.headers["content-type"] == "application/json"


async def test_missing_attachment_part_is_400_and_stores_nothing(client, make_statement):
    statement = make_statement(id=str(uuid.uuid4()), attachments=[attachment_for(b"absent")])
    body, headers = multipart(statement)
    response = await client.post("/xapi/statements", content=body, headers=headers)
    assert response.status_code == 400
    missing = await client.get("/xapi/statements", params={"statementId": statement["id"]})
    assert missing.status_code == 404


async def test_part_with_wrong_hash_is_400(client, make_statement):
    content = b"real content"
    statement = make_statement(attachments=[attachment_for(content)])
    body, headers = multipart(statement, content)
    tampered = body.replace(b"real content", b"fake content")
    response = await client.post("/xapi/statements", content=tampered, headers=headers)
    assert response.status_code == 400


async def test_file_url_attachment_needs_no_part(client, make_statement):
    attachment = attachment_for(b"elsewhere", fileUrl="http://example.com/file.txt")
    response = await client.post("/xapi/statements", json=make_statement(attachments=[attachment]))
    assert response.status_code == 200


async def test_json_request_with_attachment_lacking_file_url_is_400(client, make_statement):
    response = await client.post(
        "/xapi/statements", json=make_statement(attachments=[attachment_for(b"x")])
    )
    assert response.status_code == 400


async def test_same_content_is_stored_once(client, services, make_statement):
    content = b"shared bytes"
    for _ in range(2):
        body, headers = multipart(make_statement(attachments=[attachment_for(content)]), content)
        assert (
            await client.post("/xapi/statements", content=body, headers=headers)
        ).status_code == 200
    assert await services.statements.attachments.count_documents({}) == 1


async def test_other_content_types_are_400(client):
    response = await client.post(
        "/xapi/statements", content=b"a=b", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400


async def get_with_attachments(client, statement_id, headers):
    got = await client.get(
        "/xapi/statements",
        params={"statementId": statement_id, "attachments": "true"},
        headers=headers,
    )
    assert got.status_code == 200, got.text
    return parse_multipart_mixed(got.content, got.headers["content-type"])[1]


async def test_a_bodiless_attachment_never_reads_bytes_stored_by_another_statement(
    client, make_statement, make_credentials
):
    """The probe's attack: declare another client's sha2 with a fileUrl, read the bytes."""
    secret = b"the other client's grades"
    victim = await make_credentials(("statements/write", "statements/read/mine"), name="victim")
    mine = make_statement(id=str(uuid.uuid4()), attachments=[attachment_for(secret)])
    body, headers = multipart(mine, secret)
    stored = await client.post("/xapi/statements", content=body, headers={**headers, **victim})
    assert stored.status_code == 200
    thief = await make_credentials(("statements/write", "statements/read/mine"), name="thief")
    bodiless = attachment_for(secret, fileUrl="http://example.com/anything")
    theirs = make_statement(id=str(uuid.uuid4()), attachments=[bodiless])
    posted = await client.post("/xapi/statements", json=theirs, headers=thief)
    assert posted.status_code == 200  # a fileUrl needs no part: the spec says accept it

    assert await get_with_attachments(client, theirs["id"], thief) == []
    listed = await client.get("/xapi/statements", params={"attachments": "true"}, headers=thief)
    assert secret not in listed.content
    assert [p.content for p in await get_with_attachments(client, mine["id"], victim)] == [secret]


async def test_a_statement_serves_the_bytes_that_came_with_it_even_if_stored_before(
    client, make_statement
):
    content = b"sent twice"
    ids = []
    for _ in range(2):
        statement = make_statement(id=str(uuid.uuid4()), attachments=[attachment_for(content)])
        body, headers = multipart(statement, content)
        assert (await client.post("/xapi/statements", content=body, headers=headers)).is_success
        ids.append(statement["id"])
    for statement_id in ids:
        assert [p.content for p in await get_with_attachments(client, statement_id, {})] == [
            content
        ]
