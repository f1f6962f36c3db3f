"""Connector fixtures: a Zoom connector made through the admin API, and a signed poster."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.providers.signing import zoom_signature

DATA = Path(__file__).resolve().parent.parent / "data" / "connectors"
SECRET = "zoom-secret-token-123"
TEMPLATE = "https://meetings.example.com/zoom/{meeting_id}"
WEBEX_SECRET = "webex-secret"


def zoom_events() -> list[dict[str, Any]]:
    lines = (DATA / "zoom_meeting.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def zoom_headers(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    return {
        "content-type": "application/json",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": zoom_signature(secret, timestamp, body),
    }


@pytest.fixture
def cli_env(monkeypatch, mongo_server, tmp_path):
    """`lrs` commands run in this process against a fresh database of the embedded server."""
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", f"t{uuid.uuid4().hex}")
    monkeypatch.setenv("LRS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LRS_PUBLIC_URL", "https://lrs.example.com")


@pytest.fixture
async def admin(app_services, make_credentials):
    auth = await make_credentials(("admin",), name="admin")
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lrs.test", headers=auth
    ) as http:
        yield http


@pytest.fixture
async def provider(app_services):
    """A client with no LRS credential: what Zoom's servers are to us."""
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
        yield http


@pytest.fixture
async def zoom_connector(admin) -> dict[str, Any]:
    response = await admin.post(
        "/admin/connectors",
        json={
            "kind": "zoom",
            "name": "zoom-main",
            "secret": SECRET,
            "activity_template": TEMPLATE,
            "completion_threshold": 0.75,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def webex_connector(admin):
    body = {
        "kind": "webex",
        "name": "webex-main",
        "secret": WEBEX_SECRET,
        "activity_template": TEMPLATE.replace("zoom", "webex"),
    }
    response = await admin.post("/admin/connectors", json=body)
    assert response.status_code == 201
    return response.json()


async def post_event(
    provider: httpx.AsyncClient, url: str, event: dict[str, Any], **signing: Any
) -> httpx.Response:
    body = json.dumps(event).encode()
    return await provider.post(url, content=body, headers=zoom_headers(body, **signing))
