"""`lrs demo-receiver`: a tiny marketplace/CRM webhook receiver, to watch forwarding work.

It does what every real receiver of our webhooks must do, in the fewest lines that are
still correct, so integrators can copy it:

- verify the Standard Webhooks signature (`forwarders.delivery.signing`): any `v1,` entry of
  `webhook-signature` matching any configured secret (several secrets = a rotation in
  progress), `webhook-timestamp` within 5 minutes; otherwise 401 (a 4xx: the sender
  dead-letters instead of retrying a request that can never verify);
- de-duplicate on `webhook-id`: delivery is at-least-once, and a replay carries the same id.
  The ids remembered are bounded (least recently seen forgotten first), so a long-running
  receiver's memory stays flat; a real one keeps them in its database;
- print each event as one JSON line on stdout (`webhook-id`, `type`, `duplicate`, `path`
  and the body), and answer 200, for a duplicate too (marked `"duplicate": true`), so the
  sender stops retrying it.

GET /healthz answers 200 (for container health checks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forwarders.delivery.signing import (
    DEFAULT_TOLERANCE,
    InvalidSecret,
    SignatureError,
    WebhookSigner,
)
from lrs.settings import Settings

log = logging.getLogger("lrs.cli.demo_receiver")

SECRET_VARIABLE = "LRS_DEMO_RECEIVER_SECRET"  # noqa: S105 - a variable name, not a secret
MAX_BODY_BYTES = 1024 * 1024
"""Our events are a few kilobytes; anything much larger is not ours."""


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    secrets: tuple[str, ...]
    """`whsec_` secrets; a signature made with any of them is accepted."""
    host: str = "127.0.0.1"
    port: int = 9000
    remember: int = 10_000
    """How many recent `webhook-id`s are kept for de-duplication."""
    tolerance: float = DEFAULT_TOLERANCE

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, secrets: Sequence[str] = (), **fields: Any
    ) -> ReceiverSettings:
        """Secrets from the command line, else `LRS_DEMO_RECEIVER_SECRET` (space or comma
        separated, for a rotation)."""
        given = list(secrets) or environ.get(SECRET_VARIABLE, "").replace(",", " ").split()
        return cls(secrets=tuple(given), **fields)


class SeenIds:
    """The most recent `capacity` ids, least recently seen evicted first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, webhook_id: str) -> bool:
        """Remember `webhook_id`; False when it was already there (a duplicate)."""
        if webhook_id in self._ids:
            self._ids.move_to_end(webhook_id)
            return False
        self._ids[webhook_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)


def stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _error(status: int, error: str, message: str) -> Response:
    return JSONResponse({"error": error, "message": message}, status)


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it grows past MAX_BODY_BYTES (never buffered whole)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class DemoReceiver:
    """The receiver's state (verifier, seen ids, output) and its Starlette app."""

    def __init__(
        self, settings: ReceiverSettings, write: Callable[[str], None] = stdout_line
    ) -> None:
        self.verifier = WebhookSigner(settings.secrets)  # InvalidSecret on a bad secret
        self.tolerance = settings.tolerance
        self.seen = SeenIds(settings.remember)
        self.write = write
        self.app = Starlette(
            routes=[
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/{path:path}", self.receive, methods=["POST"]),
            ]
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "remembered": len(self.seen)})

    async def receive(self, request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return _error(413, "TooLarge", f"bodies are at most {MAX_BODY_BYTES} bytes")
        try:
            self.verifier.verify(request.headers, body, tolerance=self.tolerance)
        except SignatureError as error:
            return _error(401, "SignatureError", str(error))
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "BadPayload", "the body is not JSON")
        webhook_id = request.headers["webhook-id"]
        duplicate = not self.seen.add(webhook_id)
        kind = payload.get("type") if isinstance(payload, dict) else None
        line = {
            "webhook-id": webhook_id,
            "type": kind,
            "duplicate": duplicate,
            "path": "/" + request.path_params["path"],
            "body": payload,
        }
        self.write(orjson.dumps(line).decode())
        status = "duplicate" if duplicate else "accepted"
        return JSONResponse({"status": status, "webhook-id": webhook_id, "duplicate": duplicate})


# -- the command ----------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    """`lrs demo-receiver [--host] [--port] [--secret whsec_...]...`"""
    receiver = commands.add_parser(
        "demo-receiver",
        help="run a tiny webhook receiver that verifies, de-duplicates and prints events",
    )
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=9000)
    receiver.add_argument(
        "--secret",
        action="append",
        default=[],
        help=f"a whsec_ signing secret (repeat during a rotation; default ${SECRET_VARIABLE})",
    )


def command(settings: Settings, args: argparse.Namespace) -> int:
    """Run the receiver until interrupted (it needs none of the LRS `settings`)."""
    import uvicorn

    config = ReceiverSettings.from_env(
        os.environ, secrets=args.secret, host=args.host, port=args.port
    )
    if not config.secrets:
        log.error("give --secret whsec_... or set %s", SECRET_VARIABLE)
        return 2
    try:
        receiver = DemoReceiver(config)
    except InvalidSecret as error:
        log.error("%s", error)
        return 2
    log.info(
        "demo receiver on http://%s:%s/ (events on stdout, one JSON line each)",
        config.host,
        config.port,
    )
    uvicorn.run(
        receiver.app,
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return 0
