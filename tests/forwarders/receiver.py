"""A real webhook receiver for the tests: a Starlette app served by uvicorn in a thread on
127.0.0.1. It records every delivery, verifies signatures with the `standardwebhooks`
reference library, and answers as told per path (500, 410, 400, 429 + Retry-After, a 302
redirect, slowly, or only once a gate opens)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.storage.embedded import free_port


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    received: float
    verified: bool | None

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] | None = None
    delay: float = 0.0
    gate: threading.Event | None = None
    """Hold the request until the test sets it (no timing involved)."""


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.deliveries: list[Delivery] = []
        self.plans: dict[str, list[Answer]] = defaultdict(list)
        self.defaults: dict[str, Answer] = {}
        self.secrets: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.waiting: dict[str, int] = defaultdict(int)
        """Requests held at a gate right now, per path."""
        self.peak: dict[str, int] = defaultdict(int)
        """The most requests a path ever held at once."""
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            ws="none",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    # -- control ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def plan(self, path: str, *answers: int | Answer) -> None:
        """The next answers on `path`, in order; after them, the default (200)."""
        with self.lock:
            self.plans[path] += [a if isinstance(a, Answer) else Answer(a) for a in answers]

    def default(self, path: str, answer: Answer) -> None:
        self.defaults[path] = answer

    def verify_with(self, path: str, *secrets: str) -> None:
        self.secrets[path] = list(secrets)

    def reset(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.plans.clear()
            self.defaults.clear()
            self.secrets.clear()

    def on(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    async def wait_until(self, condition: Any, timeout: float = 10.0) -> None:
        """Until `condition()` holds (polled)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met")
            await asyncio.sleep(0.02)

    async def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Until `count` distinct event ids arrived on `path`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len({d.id for d in self.on(path)}) >= count:
                return self.on(path)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len({d.id for d in self.on(path)})} of {count} on {path}")

    # -- serving ----------------------------------------------------------------------------

    def _verify(self, path: str, headers: dict[str, str], body: bytes) -> bool | None:
        secrets = self.secrets.get(path)
        if not secrets:
            return None
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    async def handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        headers = dict(request.headers)
        with self.lock:
            plan = self.plans.get(path)
            answer = plan.pop(0) if plan else self.defaults.get(path, Answer())
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.gate is not None:
            await self._hold(path, answer.gate)
        verified = self._verify(path, headers, body)
        self.deliveries.append(Delivery(path, headers, body, time.monotonic(), verified))
        return Response(f"answer {answer.status}", answer.status, headers=answer.headers)

    async def _hold(self, path: str, gate: threading.Event) -> None:
        with self.lock:
            self.waiting[path] += 1
            self.peak[path] = max(self.peak[path], self.waiting[path])
        try:
            while not gate.is_set():
                await asyncio.sleep(0.01)
        finally:
            with self.lock:
                self.waiting[path] -= 1

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
