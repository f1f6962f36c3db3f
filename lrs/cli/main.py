"""The `lrs` command: `serve`, `credentials create|list|revoke`, `forwarders ...`, `demo-receiver`.

With no `LRS_MONGODB_URI`, `serve` runs the embedded database under `LRS_DATA_DIR` and
records its address in `<data dir>/db.uri`, so other commands reach the same database while
the server runs (and start it themselves when it does not).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import uvicorn

from forwarders.config import ForwardingSettings
from forwarders.health import check_worker
from forwarders.service import ForwarderService
from lrs.auth.config import AuthSettings
from lrs.auth.credential_admin import credential_admin
from lrs.auth.credential_store import CredentialExists
from lrs.auth.scopes import ADMIN, ALL, KNOWN_SCOPES
from lrs.cli import (
    analytics,
    connectors,
    data,
    demo_receiver,
    export,
    forwarders_tools,
    identities,
)
from lrs.cli.edge import edge_protocol
from lrs.cli.templates import add_template_options, template_fields
from lrs.cli.worker import run_until_signalled
from lrs.logs import configure_logging
from lrs.services import forwarder_service
from lrs.settings import Settings, SettingsError, env_bool
from lrs.storage.client import mongo_client
from lrs.storage.embedded import EmbeddedDatabase, EmbeddedDatabaseError, serves
from statements.errors import XAPIError

log = logging.getLogger("lrs")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _uri_file(settings: Settings) -> Path:
    return settings.data_dir / "db.uri"


def _admin_file(settings: Settings) -> Path:
    return settings.data_dir / "admin-credentials.json"


@contextlib.contextmanager
def database_uri(
    settings: Settings, *, serving: bool = False
) -> Iterator[tuple[str, EmbeddedDatabase | None]]:
    """The MongoDB to use: the configured one, the running embedded one, or a new embedded one."""
    if settings.mongodb_uri:
        yield settings.mongodb_uri, None
        return
    uri_file = _uri_file(settings)
    running = None if serving else _running_uri(settings)
    if running is not None:
        yield running, None
        return
    database = EmbeddedDatabase(
        str(settings.db_dir),
        cache_size=settings.embedded_cache_size,
        log_path=settings.data_dir / "secantusd.log",
    )
    try:
        uri = database.start()
        if serving:
            uri_file.write_text(uri)
        yield uri, database
    finally:
        with _signals_ignored():
            if serving:
                uri_file.unlink(missing_ok=True)
            database.stop()


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Let the database stop in order: a second Ctrl-C or SIGTERM must not cut it short.

    The stop is bounded (SIGTERM, then SIGKILL after a timeout), so nothing waits forever.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Stopped(Exception):
    """SIGTERM arrived (kill, Docker, systemd): stop exactly as Ctrl-C does."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


@dataclass(frozen=True)
class AdminCredential:
    """The first admin credential, and where its secret came from (the banner shows it once)."""

    key: str
    secret: str
    source: Literal["generated", "environment", "file"]


async def ensure_admin(settings: Settings, uri: str) -> AdminCredential | None:
    """The first admin credential: from LRS_ADMIN_KEY/SECRET, or made on first start."""
    async with credential_admin(settings, uri) as admin:
        store = admin.store
        if settings.admin_key and settings.admin_secret:
            with contextlib.suppress(CredentialExists):
                await admin.create(
                    "admin",
                    [ALL, ADMIN],
                    actor="cli",
                    source="cli",
                    key=settings.admin_key,
                    secret=settings.admin_secret,
                )
            return AdminCredential(settings.admin_key, settings.admin_secret, "environment")
        saved = _admin_file(settings)
        if saved.exists():
            pair = json.loads(saved.read_text())
            return AdminCredential(str(pair["key"]), str(pair["secret"]), "file")
        if await store.count_active() > 0:
            return None
        key, secret = await admin.create("admin", [ALL, ADMIN], actor="cli", source="cli")
        saved.write_text(json.dumps({"key": key, "secret": secret}))
        saved.chmod(0o600)
        return AdminCredential(key, secret, "generated")


def banner(settings: Settings, admin: AdminCredential | None) -> str:
    """Where to send statements, and the admin key.

    The secret is printed only the one time the LRS generated it: start-up output ends up
    in terminals, CI logs and journald, so later starts say where the secret is kept.
    """
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        f"LRS listening: xAPI endpoint {base}/xapi",
        f"  health: {base}/healthz  ready: {base}/readyz",
        f"  console: {base}/console",
    ]
    if admin is None:
        lines.append("  credentials: use one made with `lrs credentials create`")
        return "\n".join(lines)
    saved = _admin_file(settings)
    secret, shown = {
        "generated": (f"{admin.secret}  (also saved in {saved})", admin.secret),
        "environment": ("from LRS_ADMIN_SECRET", "$LRS_ADMIN_SECRET"),
        "file": (f"kept in {saved}", "SECRET"),
    }[admin.source]
    lines += [
        f"  key:    {admin.key}",
        f"  secret: {secret}",
        "  try:",
        f"    curl -u {admin.key}:{shown} -H 'X-Experience-API-Version: 2.0.0' \\\n"
        f"      {base}/xapi/statements",
    ]
    return "\n".join(lines)


async def _watch(database: EmbeddedDatabase | None, server: uvicorn.Server) -> None:
    """Stop serving (and fail) if the embedded database dies under us."""
    while database is not None and not server.should_exit:
        await asyncio.sleep(1.0)
        if database.returncode() is not None:
            log.error(
                "embedded database died (%s); shutting down",
                database._died_message(database.returncode() or 0),
            )
            server.should_exit = True
            raise EmbeddedDatabaseError("embedded database died")


def _in_process_worker(database: EmbeddedDatabase | None) -> bool:
    """On by default with the embedded database (so `make run` forwards out of the box)."""
    return env_bool(os.environ, "LRS_FORWARDER_IN_PROCESS", database is not None)


async def _serve(settings: Settings, uri: str, database: EmbeddedDatabase | None) -> int:
    from lrs.app import create_app

    admin = await ensure_admin(settings, uri)
    app = create_app(
        settings,
        uri,
        forwarding=ForwardingSettings.from_env(os.environ),
        run_worker=_in_process_worker(database),
        auth=AuthSettings.from_env(os.environ),
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        http=edge_protocol(settings.fallback_version),
        access_log=False,  # lrs.http.access_log logs each request, with route and key
        log_config=None,  # keep our handlers: uvicorn's lines go through the same masking
        lifespan="on",
    )
    server = uvicorn.Server(config)
    watcher = asyncio.create_task(_watch(database, server))
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started:
        freeze_startup_objects()
        out(banner(settings, admin))
    await asyncio.wait({serving, watcher}, return_when=asyncio.FIRST_COMPLETED)
    watcher.cancel()
    await serving
    died = watcher.done() and not watcher.cancelled() and watcher.exception() is not None
    return 1 if died or not server.started else 0


def freeze_startup_objects() -> None:
    """Keep what the process holds once it serves (modules, the app, its clients: about 80,000
    objects) out of the collector's full passes, which otherwise walked them all every couple
    of seconds under load: a 30-45 ms stop of every request in flight each time. After the
    freeze a full pass walks only what was made since (1-3 ms). Nothing is leaked: frozen
    objects are still freed by reference counting, just never scanned for cycles."""
    gc.collect()
    gc.freeze()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, then stop the database and remove db.uri (exit 0).

    uvicorn shuts down on either signal and then re-raises it: SIGINT becomes
    KeyboardInterrupt, and SIGTERM becomes `Stopped` through our handler (its default
    action would kill the process before the database is stopped).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        with database_uri(settings, serving=True) as (uri, database):
            return _run(_serve(settings, uri, database))
    except (KeyboardInterrupt, Stopped):
        return 0
    except (EmbeddedDatabaseError, SettingsError) as error:
        log.error("%s", error)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


LEFTOVER_SECONDS = 5.0
"""How long tasks still running after a command's coroutine get to finish their cancellation."""


def _run(coro: Any) -> int:
    """Run `coro` on a fresh loop; tasks it left behind get a bounded time to stop.

    `asyncio.run` waits for every leftover task without limit, and a task cancelled inside the
    database driver's server selection (the database gone) can loop on the driver's lock
    forever: the process would never exit. Here they get `LEFTOVER_SECONDS`, then are dropped.
    """
    loop = _new_loop()
    try:
        return int(loop.run_until_complete(coro))
    finally:
        try:
            _cancel_leftovers(loop)
        finally:
            loop.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.wait(leftovers, timeout=LEFTOVER_SECONDS))
    with contextlib.suppress(TimeoutError):
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), LEFTOVER_SECONDS))


def cmd_credentials(settings: Settings, args: argparse.Namespace) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with database_uri(settings) as (uri, _):
        return _run(_credentials(settings, uri, args))


async def _credentials(settings: Settings, uri: str, args: argparse.Namespace) -> int:
    async with credential_admin(settings, uri) as admin:
        store = admin.store
        if args.action == "create":
            scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
            try:
                key, secret = await admin.create(args.name, scopes, actor="cli", source="cli")
            except ValueError as error:
                log.error("%s", error)
                return 2
            out(json.dumps({"key": key, "secret": secret, "scopes": scopes}))
        elif args.action == "list":
            for record in await store.list():
                state = "revoked" if record.revoked else "active"
                out(
                    f"{record.key}\t{record.name}\t{','.join(record.scopes)}\t{state}\t{record.created}"
                )
        else:
            if not await admin.revoke(args.key, actor="cli", source="cli"):
                log.error("no credential %s", args.key)
                return 1
            out(f"revoked {args.key}")
    return 0


def cmd_forwarders(settings: Settings, args: argparse.Namespace) -> int:
    forwarding = ForwardingSettings.from_env(os.environ)
    if args.action in ("run", "health"):
        uri = settings.mongodb_uri or _running_uri(settings)
        if uri is None:
            log.error("set LRS_MONGODB_URI, or start `lrs serve` (embedded database) first")
            return 2
        if args.action == "health":
            status, report = check_worker(uri, settings.database, args.max_age)
            out(report)
            return status
        return _run(run_until_signalled(uri, settings.database, forwarding, settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with database_uri(settings) as (uri, _):
        if args.action in forwarders_tools.ACTIONS:
            return _run(forwarders_tools.run(settings, uri, forwarding, args))
        return _run(_forwarders_admin(settings, uri, forwarding, args))


def cmd_analytics(settings: Settings, args: argparse.Namespace) -> int:
    with database_uri(settings) as (uri, _):
        return _run(analytics.run(settings, uri, args))


def cmd_identities(settings: Settings, args: argparse.Namespace) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    forwarding = ForwardingSettings.from_env(os.environ)
    with database_uri(settings) as (uri, _):
        return _run(identities.run(settings, uri, forwarding, args))


def cmd_connectors(settings: Settings, args: argparse.Namespace) -> int:
    """`lrs connectors ...` (see lrs.cli.connectors)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    forwarding = ForwardingSettings.from_env(os.environ)
    with database_uri(settings) as (uri, _):
        return _run(connectors.run(settings, uri, forwarding, args))


def cmd_data(settings: Settings, args: argparse.Namespace) -> int:
    """`lrs erase` and `lrs retention` (see lrs.cli.data)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with database_uri(settings) as (uri, _):
        return _run(data.run(settings, uri, args))


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """`lrs export` and `lrs export verify` (see lrs.cli.export)."""
    if args.action == "verify":
        return export.verify(args)
    if (problem := export.missing_options(args)) is not None:
        log.error("%s", problem)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with database_uri(settings) as (uri, _):
        return _run(export.run(settings, uri, args))


def _running_uri(settings: Settings) -> str | None:
    """The address in db.uri while the server that wrote it runs; a stale file is removed."""
    uri_file = _uri_file(settings)
    try:
        uri = uri_file.read_text().strip()
    except FileNotFoundError:
        return None
    if serves(uri, str(settings.db_dir)):
        return uri
    log.warning("%s names a database that is no longer served: removing it", uri_file)
    uri_file.unlink(missing_ok=True)
    return None


async def _forwarders_admin(
    settings: Settings, uri: str, forwarding: ForwardingSettings, args: argparse.Namespace
) -> int:
    client = mongo_client(uri)
    try:
        db = client[settings.database]
        service = forwarder_service(db, forwarding)
        await service.ensure_indexes()
        out(json.dumps(await _admin_action(service, args), default=str, indent=2))
        return 0
    except XAPIError as error:
        log.error("%s", error.message)
        return 1
    finally:
        await client.close()


async def _admin_action(service: ForwarderService, args: argparse.Namespace) -> Any:
    action = args.action
    if action == "create":
        spec: dict[str, Any] = {"name": args.name, "kind": args.kind, "url": args.url}
        if args.verbs:
            spec["verbs"] = args.verbs.split(",")
        return (await service.create_forwarder({**spec, **template_fields(args)})).as_dict()
    if action == "update":
        return (await service.update_forwarder(args.id, template_fields(args))).as_dict()
    if action == "list":
        return [view.as_dict() for view in await service.list_forwarders()]
    if action in ("pause", "resume"):
        change = service.pause_forwarder if action == "pause" else service.resume_forwarder
        return (await change(args.id)).as_dict()
    if action == "delete":
        await service.delete_forwarder(args.id)
        return {"deleted": args.id}
    if action == "test":
        return (await service.send_test_event(args.id)).as_dict()
    if action == "events":
        records = await service.list_events(forwarder_id=args.id, state=args.state)
        return [record.as_dict() for record in records]
    if action == "replay":
        if args.event:
            return (await service.replay_event(args.event)).as_dict()
        return {"replayed": await service.replay_forwarder(args.id, args.states.split(","))}
    return {"secret": await service.rotate_secret(args.id)}


def _forwarders_parser(commands: Any) -> None:
    forwarders = commands.add_parser("forwarders", help="webhook forwarders and their worker")
    actions = forwarders.add_subparsers(dest="action", required=True)
    actions.add_parser("run", help="run a forwarding worker (any number may run)")
    health = actions.add_parser("health", help="exit 0 if a worker on this host heartbeats")
    health.add_argument("--max-age", type=float, default=30.0, help="seconds")
    create = actions.add_parser("create", help="create a forwarder (prints its secret once)")
    create.add_argument("--name", required=True)
    create.add_argument("--url", required=True)
    create.add_argument("--kind", default="generic", choices=["generic", "marketplace", "crm"])
    create.add_argument("--verbs", help="comma-separated verb IRIs (default: completed, passed)")
    add_template_options(create)
    update = actions.add_parser("update", help="change a forwarder's template or policy")
    update.add_argument("id")
    add_template_options(update)
    actions.add_parser("list", help="list forwarders (never their secrets)")
    for name in ("pause", "resume", "delete", "test", "rotate-secret"):
        actions.add_parser(name, help=f"{name} a forwarder").add_argument("id")
    events = actions.add_parser("events", help="list events")
    events.add_argument("--id", help="forwarder id")
    events.add_argument("--state", help="pending, delivered, failed or dead")
    replay = actions.add_parser("replay", help="replay one event, or a forwarder's dead ones")
    replay.add_argument("--id", help="forwarder id")
    replay.add_argument("--event", help="one event id")
    replay.add_argument("--states", default="dead")
    forwarders_tools.add_parsers(actions)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lrs", description="xAPI Learning Record Store")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve", help="run the LRS (and the embedded database unless LRS_MONGODB_URI)"
    )
    creds = commands.add_parser("credentials", help="manage API credentials")
    actions = creds.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key/secret pair")
    create.add_argument("--name", default="client")
    create.add_argument(
        "--scopes",
        default="statements/write,statements/read,define",
        help=f"comma-separated, from: {', '.join(sorted(KNOWN_SCOPES))}",
    )
    actions.add_parser("list", help="list credentials (never the secrets)")
    revoke = actions.add_parser("revoke", help="revoke a credential")
    revoke.add_argument("key")
    _forwarders_parser(commands)
    identities.add_parser(commands)
    connectors.add_parser(commands)
    data.add_parsers(commands)
    export.add_parser(commands)
    analytics.add_parser(commands)
    demo_receiver.add_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        log.error("%s", error)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    handlers = {
        "serve": cmd_serve,
        "credentials": cmd_credentials,
        "forwarders": cmd_forwarders,
        "identities": cmd_identities,
        "connectors": cmd_connectors,
        "export": cmd_export,
    }
    handlers.update(dict.fromkeys(data.COMMANDS, cmd_data))
    handlers[analytics.COMMAND] = cmd_analytics
    handlers["demo-receiver"] = demo_receiver.command
    return handlers[args.command](settings, args)
