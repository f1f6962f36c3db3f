"""One delivery attempt: sign the stored body, POST it, and read at most an excerpt of the
answer. Nothing is rendered here: the body is the event's stored payload.

The client is built here, once per worker: explicit timeouts, bounded pools, no proxies
from the environment, no redirects, and the SSRF guard at connect time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from forwarders.delivery.signing import WebhookSigner
from forwarders.delivery.ssrf import GuardedTransport
from forwarders.events import Event
from forwarders.queue import EXCERPT_BYTES
from forwarders.rules import Forwarder

TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
USER_AGENT = "lrs-forwarder/0.1 (+Standard Webhooks)"


def delivery_client(
    *, allow_private: bool, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport or GuardedTransport(allow_private=allow_private, limits=LIMITS),
        timeout=TIMEOUT,
        limits=LIMITS,
        trust_env=False,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


@dataclass(frozen=True, slots=True)
class Response:
    status: int | None
    """None when no response came (timeout, connection refused or reset, blocked address)."""
    retry_after: str | None
    excerpt: str
    error: str | None
    latency_ms: float


async def _excerpt(response: httpx.Response) -> str:
    """At most EXCERPT_BYTES of the body: a receiver cannot make us buffer a large answer."""
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    text = kept[:EXCERPT_BYTES].decode("utf-8", "replace")
    location = response.headers.get("location")
    return f"Location: {location}\n{text}" if location else text


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> Response:
    started = time.perf_counter()
    try:
        async with client.stream("POST", url, content=body, headers=headers) as answer:
            excerpt = await _excerpt(answer)
            status, retry_after = answer.status_code, answer.headers.get("retry-after")
    except httpx.HTTPError as error:
        elapsed = (time.perf_counter() - started) * 1000
        return Response(None, None, "", f"{type(error).__name__}: {error}"[:500], elapsed)
    return Response(status, retry_after, excerpt, None, (time.perf_counter() - started) * 1000)


async def deliver(
    client: httpx.AsyncClient,
    forwarder: Forwarder,
    event: Event,
    secrets: list[str],
    timestamp: int,
    body: bytes,
) -> Response:
    """POST `body` (the event's stored payload) to `forwarder`, signed with every active
    secret; `timestamp` is now (unix seconds): `webhook-timestamp` is per attempt,
    `webhook-id` is the event's."""
    return await post(
        client, forwarder.url, body, request_headers(event.id, secrets, timestamp, body)
    )


def request_headers(
    event_id: str, secrets: list[str], timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of a delivery besides the client's own (`user-agent`): the Standard
    Webhooks trio signed with every active secret, and the content type. `lrs forwarders
    preview` shows exactly these."""
    headers = WebhookSigner(secrets).headers(event_id, timestamp, body)
    headers["content-type"] = "application/json"
    return headers
