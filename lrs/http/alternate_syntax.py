"""The 1.0.3 Alternate Request Syntax (Communication 1.3), rewritten into a normal request.

A browser that cannot send custom headers POSTs `?method=PUT` with a form body carrying
the headers (Authorization, X-Experience-API-Version, Content-Type, If-Match, ...), the
`content`, and the other parameters. xAPI 2.0 dropped the syntax, so there it is a 400.

The credential is inside the body, so the body is read before authentication; what is done
with it then is bounded (`lrs.http.forms`): the small fields are split and decoded, the
`content` stays encoded. It is decoded when the application first reads the body, which
every resource does only after authenticating the request and checking its scope, and off
the event loop when it is large. A stranger's form costs a read and a count, nothing more.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from lrs.http.forms import decode_utf8, decoded_length, header_value, split_form
from lrs.http.middleware import is_xapi_path
from statements.errors import BadRequest, PayloadTooLarge

METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
FORM_HEADERS = frozenset(
    {
        "authorization",
        "x-experience-api-version",
        "content-type",
        "content-length",
        "if-match",
        "if-none-match",
        "accept-language",
    }
)
FORM = "application/x-www-form-urlencoded"
CONTENT = "content"
THREAD_BYTES = 64 * 1024
"""Content larger than this is decoded in a worker thread."""


class AlternateSyntax:
    """Turns an alternate-syntax request into the ordinary request it stands for (called by
    `lrs.http.admission` before the version and the credential are checked)."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def apply(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """The request as the application sees it: `scope` and `receive` unchanged unless
        this is the alternate syntax (raises the XAPIError that is its answer if malformed).
        """
        query_string: bytes = scope.get("query_string", b"")
        # a cheap test first: nearly every request has no `method` parameter at all (one
        # may be percent-encoded: then the query is parsed)
        if not is_xapi_path(scope["path"]) or not (
            b"method" in query_string or b"%" in query_string
        ):
            return scope, receive
        query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        if not any(name == "method" for name, _ in query):
            return scope, receive
        rewritten, content = await self._rewrite(scope, receive, query)
        return rewritten, _replay(content, receive)

    async def _rewrite(
        self, scope: Scope, receive: Receive, query: list[tuple[str, str]]
    ) -> tuple[Scope, bytes]:
        headers = Headers(scope=scope)
        method = _method(scope, query)
        if headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            raise BadRequest(f"the alternate request syntax needs a {FORM} body")
        form = split_form(await self._read(receive), CONTENT)
        moved = _moved_headers(form.fields)
        sent = headers.get("x-experience-api-version", "").encode("latin-1")
        if moved.get("x-experience-api-version", sent).startswith(b"2."):
            raise BadRequest("xAPI 2.0 has no alternate request syntax")
        content = form.large or b""
        params = [(n, v) for n, v in form.fields if n.lower() not in FORM_HEADERS]
        new_headers = [
            (k, v)
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in moved
            and k != b"content-length"
            and k != b"content-type"
        ]
        new_headers += [
            (name.encode(), value) for name, value in moved.items() if name != "content-length"
        ]
        new_headers.append((b"content-length", str(decoded_length(content)).encode()))
        if "content-type" not in moved and content:
            new_headers.append((b"content-type", b"application/json"))
        new_scope = dict(scope)
        new_scope.update(
            method=method, headers=new_headers, query_string=urlencode(params).encode("latin-1")
        )
        return new_scope, content

    async def _read(self, receive: Receive) -> bytes:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(f"request body over {self.max_body_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _method(scope: Scope, query: list[tuple[str, str]]) -> str:
    if scope["method"] != "POST":
        raise BadRequest("the alternate request syntax is only allowed with POST")
    if len(query) != 1:
        raise BadRequest("with the alternate request syntax, `method` is the only query parameter")
    method = query[0][1].upper()
    if method not in METHODS:
        raise BadRequest(f"unsupported method {query[0][1]!r} in the alternate request syntax")
    return method


def _moved_headers(fields: list[tuple[str, str]]) -> dict[str, bytes]:
    """The form fields that are headers, by lower-case name, checked as header values; each
    may be given once."""
    moved: dict[str, bytes] = {}
    for name, value in fields:
        header = name.lower()
        if header in FORM_HEADERS:
            if header in moved:
                raise BadRequest(f"the form has more than one {name} field", {"field": name})
            moved[header] = header_value(name, value)
    return moved


async def _decoded(content: bytes) -> bytes:
    """The content's bytes (text in UTF-8): in a worker thread when it is large."""
    if len(content) <= THREAD_BYTES:
        return decode_utf8(content, CONTENT)
    return await anyio.to_thread.run_sync(decode_utf8, content, CONTENT)


def _replay(content: bytes, original: Receive) -> Receive:
    """Hand the decoded content to the app when it first asks, then pass through (e.g. the
    disconnect). Decoding errors surface there, inside the application: a 400."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": await _decoded(content), "more_body": False}
        return await original()

    return receive
