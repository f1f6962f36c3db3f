"""The console's route table, mounted at /console by `lrs.app`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lrs.auth.gate import AuthGate
from lrs.console import (
    credentials,
    erasure,
    forwarder_tools as tools,
    forwarders,
    identities,
    learners,
    statements,
)
from lrs.console.audit_log import audit_log
from lrs.console.exports import ExportPages
from lrs.console.guard import Console
from lrs.console.login import Login
from lrs.console.oidc_login import OIDCLogin
from lrs.console.overview import overview
from lrs.resources.admin_exports import ExportEndpoints

SESSION_LIFETIME = timedelta(hours=8)
STATIC = Path(__file__).parent / "static"


def console_mount(
    gate: AuthGate, exports: ExportEndpoints, lifetime: timedelta = SESSION_LIFETIME
) -> Mount:
    """`exports` is the app's export API: its jobs run as tasks of the app, which the
    console's jobs must share (one runner, cancelled with the app)."""
    console = Console(gate, lifetime)
    export_pages = ExportPages(exports)
    login = Login(console)
    oidc = OIDCLogin(console, login)
    page = console.page
    return Mount(
        "/console",
        routes=[
            Route("/", page(overview)),
            Route("/login", login.form, methods=["GET"]),
            Route("/login", login.submit, methods=["POST"]),
            Route("/logout", page(login.sign_out), methods=["POST"]),
            Route("/oidc/start", oidc.start, methods=["GET"]),
            Route("/oidc/callback", oidc.callback, methods=["GET"]),
            Route("/statements", page(statements.browse)),
            Route("/statements/{statement_id}/void", page(statements.confirm_void, admin=True)),
            Route(
                "/statements/{statement_id}/void",
                page(statements.void, admin=True),
                methods=["POST"],
            ),
            Route("/credentials", page(credentials.credentials, admin=True)),
            Route("/credentials", page(credentials.create, admin=True), methods=["POST"]),
            Route("/credentials/{key}/revoke", page(credentials.confirm_revoke, admin=True)),
            Route(
                "/credentials/{key}/revoke",
                page(credentials.revoke, admin=True),
                methods=["POST"],
            ),
            Route("/forwarders", page(forwarders.forwarders, admin=True)),
            Route("/forwarders/{forwarder_id}", page(forwarders.dead_letters, admin=True)),
            Route(
                "/forwarders/{forwarder_id}/replay",
                page(forwarders.replay_all, admin=True),
                methods=["POST"],
            ),
            Route(
                "/forwarders/{forwarder_id}/events/{event_id}", page(forwarders.event, admin=True)
            ),
            Route(
                "/forwarders/{forwarder_id}/replay-selection",
                page(forwarders.replay_selection, admin=True),
                methods=["POST"],
            ),
            Route(
                "/forwarders/{forwarder_id}/events/{event_id}/replay",
                page(forwarders.replay_one, admin=True),
                methods=["POST"],
            ),
            Route("/learners", page(learners.learners)),
            Route("/identities", page(identities.identities, admin=True)),
            Route("/identities/preview", page(identities.preview, admin=True), methods=["POST"]),
            Route("/identities/import", page(identities.apply, admin=True), methods=["POST"]),
            Route("/identities/redrive", page(identities.redrive, admin=True), methods=["POST"]),
            Route("/exports", page(export_pages.index, admin=True)),
            Route("/exports", page(export_pages.start, admin=True), methods=["POST"]),
            Route("/exports/{job_id}", page(export_pages.job, admin=True)),
            Route("/exports/{job_id}/files/{name}", page(export_pages.download, admin=True)),
            Route("/forwarders/{forwarder_id}/rotate", page(tools.confirm_rotation, admin=True)),
            Route(
                "/forwarders/{forwarder_id}/rotate",
                page(tools.rotate, admin=True),
                methods=["POST"],
            ),
            Route("/forwarders/{forwarder_id}/preview", page(tools.payload_preview, admin=True)),
            Route(
                "/forwarders/{forwarder_id}/replay-range",
                page(tools.replay_range, admin=True),
                methods=["POST"],
            ),
            Route("/erasure", page(erasure.form, admin=True)),
            Route("/erasure/dry-run", page(erasure.dry_run, admin=True), methods=["POST"]),
            Route("/erasure", page(erasure.erase, admin=True), methods=["POST"]),
            Route("/audit", page(audit_log, admin=True)),
            Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
        ],
    )
