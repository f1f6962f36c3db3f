"""The HTTP edge of `lrs serve`: malformed, oversized and stalled request heads.

A real uvicorn server with our protocol, on loopback, spoken to over raw sockets (an
HTTP client library would refuse to send most of these requests).
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn

from lrs.cli.edge import MAX_HEADERS, MAX_PARAMS, MAX_URL, edge_protocol
from lrs.storage.embedded import free_port

HEAD_TIMEOUT = 0.3


async def hello(scope, receive, send):
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture(scope="module")
def port():
    port = free_port()
    config = uvicorn.Config(
        hello,
        host="127.0.0.1",
        port=port,
        http=edge_protocol("1.0.3", head_timeout=HEAD_TIMEOUT),
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


def exchange(port, *chunks, pause=0.0):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
            time.sleep(pause)
        return read_all(sock)


def read_all(sock):
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def parse(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def assert_xapi_error(raw, status, error):
    code, headers, body = parse(raw)
    assert code == status
    assert headers["content-type"] == "application/json"
    assert headers["x-experience-api-version"] == "1.0.3"
    assert headers["connection"] == "close"
    assert body["error"] == error and body["message"]


def test_a_url_longer_than_the_limit_is_414_with_an_xapi_error_body(port):
    url = b"/xapi/about?x=" + b"a" * MAX_URL
    raw = exchange(port, b"GET " + url + b" HTTP/1.1\r\nHost: lrs\r\n\r\n")
    assert_xapi_error(raw, 414, "uri_too_long")


def test_a_100_kb_url_is_414_not_uvicorns_plain_text_400(port):
    raw = exchange(port, b"GET /xapi/about?x=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: lrs\r\n\r\n")
    assert_xapi_error(raw, 414, "uri_too_long")


def test_too_many_query_parameters_is_400_naming_the_limit(port):
    query = b"&".join(b"a=1" for _ in range(MAX_PARAMS + 1))
    raw = exchange(port, b"GET /xapi/about?" + query + b" HTTP/1.1\r\nHost: lrs\r\n\r\n")
    assert_xapi_error(raw, 400, "bad_request")
    assert str(MAX_PARAMS) in parse(raw)[2]["message"]


def test_too_many_header_fields_is_431(port):
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    raw = exchange(port, b"GET /xapi/about HTTP/1.1\r\nHost: lrs\r\n" + fields + b"\r\n")
    assert_xapi_error(raw, 431, "request_header_fields_too_large")


def test_a_huge_header_is_431(port):
    raw = exchange(port, b"GET / HTTP/1.1\r\nHost: lrs\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert_xapi_error(raw, 431, "request_header_fields_too_large")


def test_a_malformed_request_line_is_400_with_an_xapi_error_body(port):
    raw = exchange(port, b"GET /a b c HTTP/9\r\n\r\n")
    assert_xapi_error(raw, 400, "bad_request")


def test_a_head_that_stalls_is_answered_408_and_closed(port):
    raw = exchange(port, b"GET /xapi/about HTTP/1.1\r\n", b"Host: lr")
    assert_xapi_error(raw, 408, "request_timeout")


def test_a_connection_that_never_sends_is_closed(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert read_all(sock) == b""


def test_keep_alive_outlives_the_head_timeout_between_requests(port):
    request = b"GET / HTTP/1.1\r\nHost: lrs\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(HEAD_TIMEOUT * 3)  # idle longer than the head timeout, within keep-alive
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
