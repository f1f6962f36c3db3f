"""Logs: JSON lines with the request id, one access line per request, nothing secret."""

from __future__ import annotations

import base64
import io
import json
import logging
import signal
import urllib.error

import pytest
from starlette.requests import Request

from lrs.errors import handle_unexpected
from lrs.http.middleware import request_id_from
from lrs.logs import MASK, configure_logging, mask, resolved_format, with_fields
from lrs.settings import Settings, SettingsError
from tests.conftest import basic
from tests.lrs.cli.test_cli import get, read_until, serve  # noqa: F401 - `serve` is a fixture

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXkiLCJzY29wZSI6ImFsbCJ9.c2lnbmF0dXJl"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def captured():
    """Our logging set-up writing into a buffer; the process's own set-up restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    uvicorn = {n: logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    saved_uvicorn = {n: (list(lg.handlers), lg.propagate, lg.disabled) for n, lg in uvicorn.items()}
    buffer = io.StringIO()
    handler = configure_logging("json", "debug", stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.handlers[:], root.level = saved
    for name, (handlers, propagate, disabled) in saved_uvicorn.items():
        uvicorn[name].handlers[:] = handlers
        uvicorn[name].propagate, uvicorn[name].disabled = propagate, disabled


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# -- masking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Basic a2V5OnMzY3JldA==", "a2V5OnMzY3JldA=="),
        ("headers={'authorization': 'Bearer abc.def'}", "abc.def"),
        (f"token {JWT} seen", JWT),
        (f"id_token={JWT}", JWT),
        (f'{{"secrets": ["{WHSEC}"]}}', WHSEC[6:]),
        (f"stored plain:{WHSEC}", WHSEC[6:]),
        ('{"secret": "hunter2", "name": "x"}', "hunter2"),
        ("{'password': 'hunter2'}", "hunter2"),
        ("client_secret=hunter2&grant_type=client_credentials", "hunter2"),
        ('"access_token":"opaque-value-1"', "opaque-value-1"),
        ("LRS_ADMIN_SECRET=hunter2", "hunter2"),
    ],
)
def test_mask_removes_credentials(text, secret):
    masked = mask(text)
    assert secret not in masked
    assert MASK in masked


def test_mask_leaves_ordinary_text_alone():
    text = "POST /xapi/statements 200 12.5 ms credential=4f2a lease token renewed"
    assert mask(text) == text


def test_request_ids_are_accepted_when_well_formed_and_bounded():
    assert request_id_from("4bf92f35-77b3-4da6-a3ce-929d0e0e4736") == (
        "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    )
    for bad in ("", "a" * 129, "two words", 'quote"', "new\nline", None):
        made = request_id_from(bad)
        assert made != bad and len(made) == 32


# -- the pipeline ---------------------------------------------------------------------------


def test_a_json_line_has_the_fields_and_masks_structured_values(captured):
    logging.getLogger("lrs.test").warning(
        "hello %s", "world", extra=with_fields(status=200, secret="hunter2", note=f"k {WHSEC}")
    )
    (line,) = lines(captured)
    assert line["level"] == "warning" and line["logger"] == "lrs.test"
    assert line["message"] == "hello world"
    assert line["request_id"] is None  # outside a request
    assert line["timestamp"].endswith("Z")
    assert line["status"] == 200 and line["secret"] == MASK
    assert WHSEC not in captured.getvalue()


def test_an_exception_traceback_is_masked(captured):
    try:
        raise RuntimeError(f"could not verify Basic {base64.b64encode(b'k:hunter2').decode()}")
    except RuntimeError:
        logging.getLogger("lrs.test").exception("failed")
    (line,) = lines(captured)
    assert "RuntimeError" in line["exception"]
    assert base64.b64encode(b"k:hunter2").decode() not in captured.getvalue()


async def test_requests_log_their_id_and_never_a_secret(captured, client, services):
    key, secret = await services.credentials.create("logged", ["all", "admin"])
    admin = {"Authorization": basic(key, secret)}
    wrong = basic(key, "not-the-secret-42")
    await client.get(
        "/xapi/statements", headers={"Authorization": wrong, "X-Request-ID": "req-wrong"}
    )
    await client.get(
        "/xapi/statements", headers={"Authorization": f"Bearer {JWT}", "X-Request-ID": "req-jwt"}
    )
    created = await client.post(
        "/admin/forwarders",
        json={"name": "crm", "url": "https://hooks.example.com/crm", "secrets": [WHSEC]},
        headers={**admin, "X-Request-ID": "req-forwarder"},
    )
    assert created.status_code == 201
    assert created.headers["X-Request-ID"] == "req-forwarder"
    listed = await client.get("/xapi/statements", headers={**admin, "X-Request-ID": "req-ok"})
    assert listed.status_code == 200

    text = captured.getvalue()
    for leaked in (
        secret,
        "not-the-secret-42",
        JWT,
        WHSEC,
        wrong.split()[1],
        admin["Authorization"],
    ):
        assert leaked not in text
    # the forwarder's secret did pass through the logs (pymongo logs the insert at debug),
    # masked: this is what the filter is for
    assert f"whsec_{MASK}" in text
    access = {
        line["request_id"]: line
        for line in lines(captured)
        if line["logger"] == "lrs.http.access_log"
    }
    assert access["req-wrong"]["status"] == 401 and access["req-wrong"]["credential"] is None
    assert access["req-jwt"]["status"] == 401
    assert access["req-forwarder"]["route"] == "/admin/forwarders"
    assert access["req-ok"]["credential"] == key  # the key, never the secret
    assert access["req-ok"]["method"] == "GET" and access["req-ok"]["duration_ms"] >= 0
    database = [
        line
        for line in lines(captured)
        if line["logger"].startswith("pymongo") and line["request_id"] == "req-forwarder"
    ]
    assert database  # the request's own database commands carry its id


@pytest.mark.slow  # starts `lrs serve`
def test_lrs_serve_writes_json_lines_through_one_handler(serve):  # noqa: F811
    process, env = serve(LRS_LOG_FORMAT="json", LRS_ADMIN_KEY="boss", LRS_ADMIN_SECRET="s3cr3t-x")
    read_until(process, "/xapi/statements")
    url = f"http://127.0.0.1:{env['LRS_PORT']}/xapi/statements"
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(url, basic("boss", "wrong-secret-77"))
    assert refused.value.code == 401
    refused.value.close()
    assert get(url, basic("boss", "s3cr3t-x"))[0] == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    output = process.stdout.read()
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["logger"].startswith("uvicorn") for line in logged)  # routed through ours
    access = [line for line in logged if line["logger"] == "lrs.http.access_log"]
    assert [line["status"] for line in access] == [401, 200]
    assert all(len(line["request_id"]) == 32 for line in access)
    assert access[1]["credential"] == "boss"
    assert "wrong-secret-77" not in output


async def test_an_unexpected_error_is_logged_and_answered_with_the_request_id(captured):
    request = Request({"type": "http", "method": "GET", "path": "/x", "headers": []})
    request.scope["request_id"] = "req-boom"
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        response = await handle_unexpected(request, error)
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-boom"
    (line,) = [line for line in lines(captured) if line["logger"] == "lrs.errors"]
    assert line["request_id"] == "req-boom" and "RuntimeError: boom" in line["exception"]


def test_log_settings_are_checked():
    assert (Settings.from_env({}).log_format, Settings.from_env({}).log_level) == ("auto", "info")
    chosen = Settings.from_env({"LRS_LOG_FORMAT": "JSON", "LRS_LOG_LEVEL": "Debug"})
    assert (chosen.log_format, chosen.log_level) == ("json", "debug")
    for bad in ({"LRS_LOG_FORMAT": "xml"}, {"LRS_LOG_LEVEL": "loud"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings.from_env(bad)


def test_auto_format_is_text_on_a_terminal_and_json_otherwise():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert resolved_format("auto", Terminal()) == "text"
    assert resolved_format("auto", io.StringIO()) == "json"
    assert resolved_format("text", io.StringIO()) == "text"


async def test_the_request_id_is_returned_given_or_made(client):
    given = await client.get("/xapi/about", headers={"X-Request-ID": "trace-01:abc"})
    assert given.headers["X-Request-ID"] == "trace-01:abc"
    replaced = await client.get("/xapi/about", headers={"X-Request-ID": "has spaces"})
    made = await client.get("/xapi/about")
    for response in (replaced, made):
        assert len(response.headers["X-Request-ID"]) == 32
    assert replaced.headers["X-Request-ID"] != made.headers["X-Request-ID"]
