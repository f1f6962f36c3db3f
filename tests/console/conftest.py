"""Console fixtures: a browser-like client (cookies kept) and signing in through the form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from lrs.services import Services

CSRF = re.compile(r'name="csrf" value="([^"]+)"')

SignIn = Callable[..., Awaitable[httpx.Response]]


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
async def browser(app_services: tuple[Any, Services]) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, like a browser, with no credential header."""
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
        yield http


@pytest.fixture
async def admin_secret(services: Services) -> tuple[str, str]:
    return await services.credentials.create("Operator", ["all", "admin"])


@pytest.fixture
def sign_in(browser: httpx.AsyncClient) -> SignIn:
    async def sign_in(key: str, secret: str) -> httpx.Response:
        form = await browser.get("/console/login")
        data = {"csrf": csrf_of(form), "key": key, "secret": secret}
        return await browser.post("/console/login", data=data)

    return sign_in


from tests.forwarders.conftest import (  # noqa: E402, F401 - the forwarding fixtures, shared
    admin,
    clock,
    db,
    forwarding_settings,
    make_forwarder,
    make_worker,
    receiver,
    receiver_server,
    worker,
)
