"""The HTTP edge of `lrs serve`: what is answered before a request reaches the app.

uvicorn parses the request head itself and, when it cannot, answers a plain-text 400 that
no xAPI client can read; it also waits without limit for a head that arrives a byte at a
time. This protocol keeps uvicorn's parser and bounds the head instead:

- a URL over `MAX_URL` bytes is 414, a query over `MAX_PARAMS` parameters is 400, and a
  head over `MAX_HEADER_BYTES` or `MAX_HEADERS` fields is 431, each checked while the head
  is read (uvicorn's URL parser fails on URLs over 64 KiB anyway);
- a head that has not fully arrived `head_timeout` seconds after its first byte (or after
  the connection opened) is 408, and the connection closes. Idle keep-alive connections
  are uvicorn's own `timeout_keep_alive`; a request body is the app's business;
- every answer from here has the xAPI error body and the `X-Experience-API-Version`
  header, like the app's own errors (lrs.errors).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL = 32 * 1024
MAX_PARAMS = 1000
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT = 5.0


class HeadRejected(Exception):
    """Raised inside a parser callback: httptools stops parsing and uvicorn calls for a 400."""


class EdgeProtocol(HttpToolsProtocol):
    version = "2.0.0"
    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rejection: tuple[int, str, str] = (400, "bad_request", "the request is malformed")
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._header_count = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._header_count = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL:
            self._reject(414, "uri_too_long", f"the URL is longer than {MAX_URL} bytes")
        if self.url.count(b"&") >= MAX_PARAMS:
            self._reject(400, "bad_request", f"the query has more than {MAX_PARAMS} parameters")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value)
        self._header_count += 1
        if self._head_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADERS:
            self._reject(
                431,
                "request_header_fields_too_large",
                f"the headers exceed {MAX_HEADERS} fields or {MAX_HEADER_BYTES} bytes",
            )

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """Every parse failure, ours or llhttp's, answered as an xAPI error."""
        status, error, message = self._rejection
        self._send_error(status, error, message)

    def _reject(self, status: int, error: str, message: str) -> None:
        self._rejection = (status, error, message)
        raise HeadRejected(message)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if self.scope is None or answering:  # nothing sent yet, or a pipelined head: just close
            self.transport.close()
            return
        message = f"the request head did not arrive within {self.head_timeout:g} s"
        self._send_error(408, "request_timeout", message)

    def _send_error(self, status: int, error: str, message: str) -> None:
        body = orjson.dumps({"error": error, "message": message, "details": None})
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(
            b"content-type: application/json\r\n"
            b"x-experience-api-version: " + self.version.encode() + b"\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def edge_protocol(version: str, head_timeout: float = HEAD_TIMEOUT) -> type[EdgeProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, answering in `version`'s dialect."""
    attributes = {"version": version, "head_timeout": head_timeout}
    return cast(type[EdgeProtocol], type("EdgeProtocol", (EdgeProtocol,), attributes))
