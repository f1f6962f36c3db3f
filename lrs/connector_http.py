"""The HTTP exchange the connectors declare (`connectors.providers.graph.Http`), with httpx.

One `httpx.AsyncClient` with explicit timeouts, no redirects and `trust_env=False` (no proxy
or netrc from the environment); answers are read up to `MAX_ANSWER_BYTES`, so a misbehaving
endpoint cannot fill the memory of the process that pulls from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from connectors.providers.graph import GraphError, HttpAnswer

MAX_ANSWER_BYTES = 16 * 1024 * 1024
TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)


def http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=TIMEOUT, trust_env=False, follow_redirects=False, transport=transport
    )


class HttpxExchange:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        request = self.client.build_request(method, url, headers=dict(headers), data=form)
        try:
            response = await self.client.send(request, stream=True)
            try:
                body = await _bounded(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            where = httpx.URL(url).copy_with(query=None)
            raise GraphError(f"{method} {where}: {type(error).__name__} {error}") from None
        return HttpAnswer(response.status_code, response.headers, body)


async def _bounded(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise GraphError(f"an answer larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
