"""`lrs forwarders preview`: the exact request a statement would produce (signed with the
forwarder's secrets, the same bytes the worker then sends), or why nothing would be sent;
it writes nothing, and refuses a file that is not one valid xAPI statement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from forwarders.events import event_id
from forwarders.identity.service import IdentityService
from forwarders.store import EVENTS
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.conftest import ADL
from tests.forwarders.test_delivery import post

LRS = str(Path(sys.executable).parent / "lrs")
PEOPLE = "employee_id,email,status\nE1,ada@corp.com,active\nE2,bob@corp.com,terminated\n"
ADA = {"objectType": "Agent", "mbox": "mailto:Ada@Corp.com"}
SCORE_REQUIRED = """# version: 2.1.0
source_field,target_field,data_type,transform,required,notes,cardinality,retention_policy
person.employee_id,member_id,string,,true,,one,
result.score,score,number,normalize_score_0_100,true,,one,
"""


@pytest.fixture
async def people(db):
    service = IdentityService(db, statements=MongoStatementSource(db))
    await service.ensure_indexes()
    await service.import_people(PEOPLE, "csv")


@pytest.fixture
def preview(tmp_path, mongo_server, settings):
    def run(forwarder, statement, *args):
        path = tmp_path / f"{uuid.uuid4().hex}.json"
        path.write_text(statement if isinstance(statement, str) else json.dumps(statement))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
        env.update(
            LRS_DATA_DIR=str(tmp_path / "var"),
            LRS_MONGODB_URI=mongo_server.uri,
            LRS_DATABASE=settings.database,
        )
        command = [LRS, "forwarders", "preview", "--forwarder", forwarder, "--statement", str(path)]
        return subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=60
        )

    return run


def parse_request(text):
    head, _, body = text.partition("\n\n")
    start, *lines = head.split("\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return start, headers, body.encode()


def ada_completed(make_statement, **overrides):
    return make_statement(
        id=str(uuid.uuid4()), actor=ADA, timestamp="2025-03-04T10:00:00Z", **overrides
    )


async def test_the_preview_is_the_exact_signed_request_the_worker_then_sends(
    client, make_statement, make_forwarder, people, preview, worker, receiver
):
    forwarder = await make_forwarder("market", kind="marketplace")
    statement = ada_completed(make_statement)

    shown = preview("market", statement)

    assert shown.returncode == 0, shown.stderr
    start, headers, body = parse_request(shown.stdout)
    assert start == f"POST {forwarder['url']}"
    assert headers["webhook-id"] == event_id(forwarder["id"], statement["id"])
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("lrs-forwarder/")
    Webhook(forwarder["secret"]).verify(body, headers)  # raises unless it verifies
    await post(client, statement)
    assert await worker.run_until_empty() == 1
    [sent] = receiver.on("market")
    assert (sent.body, sent.id) == (body, headers["webhook-id"])


async def test_the_preview_writes_nothing(db, make_statement, make_forwarder, people, preview):
    await make_forwarder("market", kind="marketplace")
    before = sorted(await db.list_collection_names())
    indexes = await db[EVENTS].index_information()

    assert preview("market", ada_completed(make_statement)).returncode == 0

    assert sorted(await db.list_collection_names()) == before
    assert await db[EVENTS].index_information() == indexes
    assert await db[EVENTS].count_documents({}) == 0


async def test_the_json_form_carries_the_same_request(
    make_statement, make_forwarder, people, preview
):
    forwarder = await make_forwarder("market", kind="marketplace")
    statement = ada_completed(make_statement)

    shown = json.loads(preview(forwarder["id"], statement, "--json").stdout)

    assert (shown["would_send"], shown["state"], shown["reason"]) == (True, "pending", None)
    assert shown["event_id"] == shown["headers"]["webhook-id"]
    Webhook(forwarder["secret"]).verify(shown["body"], shown["headers"])
    data = json.loads(shown["body"])["data"]
    assert (data["member_id"], data["learning_completed"]["statement_id"]) == (
        "E1",
        statement["id"],
    )


@pytest.mark.parametrize(
    ("actor", "overrides", "state", "reason"),
    [
        (
            {"mbox": "mailto:eve@corp.com"},
            {},
            "unmatched",
            "no person has the identifier mbox:eve@corp.com",
        ),
        (
            {"mbox": "mailto:bob@corp.com"},
            {},
            "dropped",
            "employee E2 is terminated (forwarder policy: drop)",
        ),
        (
            ADA,
            {"verb": {"id": ADL + "experienced"}},
            "not_matched",
            f"the verb {ADL}experienced is not one of the forwarder's",
        ),
        (
            ADA,
            {
                "verb": {"id": ADL + "voided"},
                "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
            },
            "voiding",
            "a voiding statement makes no event",
        ),
    ],
)
async def test_a_statement_that_would_not_be_sent_says_why_and_exits_1(
    make_statement, make_forwarder, people, preview, actor, overrides, state, reason
):
    await make_forwarder("market", kind="marketplace")

    shown = preview("market", make_statement(actor=actor, **overrides))

    assert shown.returncode == 1
    assert shown.stdout == ""
    assert f"would not be sent ({state}): {reason}" in shown.stderr


async def test_a_mapping_failure_is_reported_with_the_missing_field(
    make_statement, make_forwarder, people, preview
):
    await make_forwarder("market", kind="marketplace", template={"csv": SCORE_REQUIRED})

    shown = preview("market", make_statement(actor=ADA, result=None), "--json")

    assert shown.returncode == 1
    assert json.loads(shown.stdout)["reason"] == "required field missing: result.score -> score"
    assert json.loads(shown.stdout)["state"] == "dead"


async def test_a_file_that_is_not_one_valid_statement_is_refused_with_exit_2(
    make_statement, make_forwarder, people, preview
):
    await make_forwarder("market", kind="marketplace")

    invalid = preview("market", make_statement(verb={"id": "completed"}))
    assert invalid.returncode == 2
    assert "is not a valid xAPI 2.0.0 statement: /verb/id" in invalid.stderr
    assert preview("market", "{not json").returncode == 2
    batch = preview("market", [make_statement()])
    assert batch.returncode == 2 and "must hold one statement" in batch.stderr
    unknown = preview("nobody", make_statement())
    assert unknown.returncode == 2 and "no forwarder nobody" in unknown.stderr
