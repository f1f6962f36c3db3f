"""The edge writes an answer's head with its body (`lrs.cli.edge.HeldHead`), and never holds
back what a client waits for: a streamed head, a HEAD answer, `100 Continue`, pipelining.

A real uvicorn server with our protocol, on loopback, spoken to over raw sockets.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import uvicorn

from lrs.cli.edge import HeldHead, edge_protocol
from lrs.storage.embedded import free_port

STALL = 1.0


async def app(scope, receive, send):
    assert scope["type"] == "http"
    path = scope["path"]
    if path == "/echo":  # reads the body: a client sending Expect: 100-continue waits for it
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        size = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": size})
        await send({"type": "http.response.body", "body": body})
        return
    if path == "/stall":  # streamed (no length): the head is out before the body is ready
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(STALL)
        await send({"type": "http.response.body", "body": b"hello"})
        return
    length = [(b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture(scope="module")
def port():
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=edge_protocol("2.0.0"),
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield port
    server.should_exit = True
    thread.join(10)


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


class Transport:
    def __init__(self):
        self.writes = []
        self.closed = False

    def write(self, data):
        self.writes.append(data)

    def writelines(self, chunks):
        self.writes.append(b"".join(chunks))

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed


class Cycle:
    scope = {"method": "GET"}
    response_started = False
    expected_content_length = 4
    chunked_encoding = None


def test_a_fixed_length_head_goes_out_in_one_write_with_the_body():
    transport, cycle = Transport(), Cycle()
    held = HeldHead(transport, cycle)
    held.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the response: at once
    cycle.response_started = True
    held.write(b"HEAD\r\n\r\n")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    held.write(b"body")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"HEAD\r\n\r\nbody"]


def test_a_streamed_or_bodiless_head_is_not_held():
    for chunked, length, method in ((True, 0, "GET"), (None, 0, "GET"), (None, 4, "HEAD")):
        transport, cycle = Transport(), Cycle()
        cycle.response_started, cycle.chunked_encoding = True, chunked
        cycle.expected_content_length, cycle.scope = length, {"method": method}
        HeldHead(transport, cycle).write(b"HEAD")
        assert transport.writes == [b"HEAD"]


def test_a_held_head_goes_out_before_the_connection_closes():
    transport, cycle = Transport(), Cycle()
    cycle.response_started = True
    held = HeldHead(transport, cycle)
    held.write(b"HEAD")
    held.close()
    assert transport.writes == [b"HEAD"] and transport.closed


def test_a_head_whose_body_is_slow_is_not_held_back(port):
    with connect(port) as sock:
        sock.sendall(b"GET /stall HTTP/1.1\r\nHost: lrs\r\n\r\n")
        started = time.monotonic()
        head = sock.recv(65536)
        waited = time.monotonic() - started
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
        assert waited < STALL / 2
        assert sock.recv(65536).startswith(b"5\r\nhello")


def test_a_head_request_gets_its_head(port):
    with connect(port) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: lrs\r\n\r\n")
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 5" in head


def test_100_continue_is_sent_at_once(port):
    with connect(port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: lrs\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"abc")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"abc")


def test_pipelined_answers_keep_their_order(port):
    with connect(port) as sock:
        sock.sendall(
            b"GET /stall HTTP/1.1\r\nHost: lrs\r\n\r\nHEAD / HTTP/1.1\r\nHost: lrs\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: lrs\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = data.split(b"HTTP/1.1 200 OK\r\n")
    assert len(answers) == 4  # what precedes the first, then three answers
    assert answers[1].endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")  # /stall, chunked
    assert answers[3].endswith(b"\r\n\r\nhello")
    assert answers[2].endswith(b"\r\n\r\n")  # the HEAD answer: no body
