"""The property-based contract test: schemathesis generates requests for every operation of
`GET /openapi.json` and sends them to the real app (uvicorn on a loopback port, the embedded
database), authenticated as an admin. No answer may be a 5xx, and every answer must be
documented: its status code, its content type and its body's schema.

Bounded and deterministic: a few examples per operation, derandomized, no example database.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
import uvicorn
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lrs import __version__
from lrs.app import create_app
from lrs.auth.config import AuthSettings
from lrs.auth.credential_admin import credential_admin
from lrs.openapi.document import openapi_document
from lrs.settings import Settings
from lrs.storage.embedded import EmbeddedDatabase, free_port
from tests.conftest import TEST_HASH_COST, basic

MAX_EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
"""Per operation. 12 keeps the whole run near a minute; `CONTRACT_EXAMPLES=500` hunts deeper."""
SEQUENCE_RUNS = 3
"""Runs of the link-following sequences at most (`test_sequences_that_follow_...`)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@contextlib.contextmanager
def serving(mongo_server: EmbeddedDatabase, data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app under uvicorn on a loopback port, on a database of its own, with the token
    endpoint on (so that it is exercised too): its URL and an admin's headers."""
    port = free_port()
    settings = Settings(
        database=f"contract{port}",
        data_dir=data_dir,
        host="127.0.0.1",
        port=port,
        secret_hash_cost=TEST_HASH_COST,
    )
    auth = AuthSettings(token_secret="contract-test-signing-secret-of-32-bytes+")
    app = create_app(settings, mongo_server.uri, auth=auth)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # start-up, not a timing assertion
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", asyncio.run(_admin_headers(settings, mongo_server.uri))
    finally:
        server.should_exit = True
        thread.join(30)


async def _admin_headers(settings: Settings, uri: str) -> dict[str, str]:
    async with credential_admin(settings, uri) as admin:
        key, secret = await admin.create("contract", ["admin"], actor="test", source="test")
    return {"Authorization": basic(key, secret)}


@pytest.fixture(scope="module")
def lrs(
    mongo_server: EmbeddedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    with serving(mongo_server, tmp_path_factory.mktemp("contract")) as found:
        yield found


schemathesis.serializer.alias(
    ["text/csv", "application/x-ndjson", "application/jsonl", "application/x-jsonlines"],
    "text/plain",
)
"""The HRIS import takes the file itself as the body: text, sent as generated."""

schema = schemathesis.openapi.from_dict(
    openapi_document(create_app(Settings(), "mongodb://127.0.0.1:1").routes, __version__)
)
"""Built at collection from the route table (create_app touches no database before its
lifespan), the same function `GET /openapi.json` answers with (tests/contract/test_document.py
checks that the served document is this one). schemathesis's fixture-loaded schemas do not run
under pytest 9."""


@pytest.mark.slow
@pytest.mark.filterwarnings(
    # schemathesis's own strategies draw from `random` (Hypothesis deprecates that); the
    # draws are still seeded by Hypothesis, so the run stays deterministic
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_answer_conforms_to_the_document(
    case: schemathesis.Case, lrs: tuple[str, dict[str, str]]
) -> None:
    lrs_url, admin_headers = lrs
    case.call_and_validate(base_url=lrs_url, headers=admin_headers, checks=CHECKS, timeout=30)


@pytest.mark.slow
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
def test_sequences_that_follow_the_documents_links_conform(
    mongo_server: EmbeddedDatabase, tmp_path: Path
) -> None:
    """Create a resource, then use its id as the links say (GET, PATCH, act, DELETE): the
    success paths of the per-resource operations, which random ids never reach. On a server
    and database of its own, so that what it meets does not depend on the tests before it."""
    reached: set[str] = set()
    # Which sequences reach an existing resource depends on the generated requests, and a
    # derandomized run generates the same ones each time. So up to three runs, each with more
    # examples than the last (other sequences), on a fresh server and database, count together.
    for attempt in range(SEQUENCE_RUNS):
        data_dir = tmp_path / str(attempt)
        data_dir.mkdir()
        with serving(mongo_server, data_dir) as (lrs_url, admin_headers):
            reached |= _run_scenarios(lrs_url, admin_headers, MAX_EXAMPLES * (attempt + 1))
        if _followed_links(reached):
            break
    # the point of following links: operations on an existing resource answered 2xx
    assert _followed_links(reached), sorted(reached)


def _key_of(headers: dict[str, str]) -> str:
    """The credential key in a Basic `Authorization` header."""
    encoded = headers["Authorization"].removeprefix("Basic ")
    return base64.b64decode(encoded).decode().partition(":")[0]


def _followed_links(reached: set[str]) -> bool:
    return len(reached) >= 2 and any("/admin/forwarders/{forwarder_id}" in op for op in reached)


def _run_scenarios(lrs_url: str, admin_headers: dict[str, str], examples: int) -> set[str]:
    reached: set[str] = set()
    calls = itertools.count()
    own_key = _key_of(admin_headers)

    class Scenario(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            """Names are unique (connectors): a name made unique per call keeps the server's
            answer a function of the generated request alone, which Hypothesis needs to
            replay a scenario; a 409 for a name an earlier example took would not be."""
            if isinstance(case.body, dict) and isinstance(case.body.get("name"), str):
                case.body = {**case.body, "name": f"{case.body['name']}-{next(calls)}"}
            # A key taken from the credential list can be the one this run sends: revoking
            # it would answer every later request with 401 (a full-suite run did exactly
            # that). Another key, which exists nowhere, keeps the request and the run.
            if case.path == "/admin/credentials/{key}" and case.path_parameters:
                if case.path_parameters.get("key") == own_key:
                    case.path_parameters = {**case.path_parameters, "key": "0" * 20}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": lrs_url, "headers": admin_headers, "timeout": 30}

        def validate_response(self, response: object, case: schemathesis.Case, **_: object) -> None:
            case.validate_response(response, checks=CHECKS, headers=admin_headers)
            if "{" in case.path and 200 <= getattr(response, "status_code", 0) < 300:
                reached.add(f"{case.method} {case.path}")

    run_state_machine_as_test(
        Scenario,
        settings=hypothesis.settings(
            max_examples=examples,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
    return reached
