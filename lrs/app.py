"""`create_app(settings)`: the ASGI application, its routes and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, TypedDict

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from analytics.pacing import InFlightWrites, Pacing
from analytics.service import Analytics
from connectors.service import ConnectorService
from forwarders.config import ForwardingSettings
from forwarders.worker import Worker
from lrs.analytics_people import IdentityPeople
from lrs.audit import AuditLog
from lrs.auth.config import AuthSettings
from lrs.auth.credential_store import MongoCredentialStore
from lrs.auth.gate import AuthGate
from lrs.connector_sink import IngestSink
from lrs.console.routes import console_mount
from lrs.errors import handle_http_exception, handle_unexpected, handle_xapi_error
from lrs.http.admission import AdmissionMiddleware
from lrs.http.cors import cors_middleware
from lrs.http.edge import EdgeMiddleware
from lrs.http.ratelimit import rate_limiter
from lrs.metrics import Metrics
from lrs.openapi.endpoint import openapi_json
from lrs.resources.about import about
from lrs.resources.activities import ActivitiesResource
from lrs.resources.admin_credentials import ROUTES as CREDENTIAL_ROUTES
from lrs.resources.admin_data import ROUTES as DATA_ROUTES
from lrs.resources.admin_exports import ExportEndpoints
from lrs.resources.admin_forwarders import ROUTES as ADMIN_ROUTES
from lrs.resources.admin_identities import ROUTES as IDENTITY_ROUTES
from lrs.resources.admin_vocabulary import ROUTES as VOCABULARY_ROUTES
from lrs.resources.agents import AgentsResource
from lrs.resources.analytics import ROUTES as ANALYTICS_ROUTES
from lrs.resources.connectors import (
    ADMIN_ROUTES as CONNECTOR_ADMIN_ROUTES,
    ROUTES as CONNECTOR_ROUTES,
)
from lrs.resources.documents import (
    ActivityProfileResource,
    AgentProfileResource,
    StateResource,
)
from lrs.resources.feeds import ROUTES as FEED_ROUTES
from lrs.resources.health import healthz, readyz
from lrs.resources.metrics import metrics as metrics_endpoint
from lrs.resources.oauth import OAuthEndpoints
from lrs.resources.statements import StatementsResource
from lrs.retention import periodic_retention
from lrs.services import Services, forwarder_service, identity_service
from lrs.settings import Settings
from lrs.storage.analytics_source import MongoAnalyticsSource, horizon, vocabulary_file
from lrs.storage.client import mongo_client
from lrs.storage.indexes import ensure_indexes
from lrs.storage.mongo_activities import MongoActivityStore
from lrs.storage.mongo_documents import MongoDocumentStore
from lrs.storage.mongo_statements import MongoStatementStore
from lrs.storage.rekey import upgrading_keys
from lrs.storage.sequence import SequenceClock
from lrs.storage.statement_source import MongoStatementSource
from statements.errors import XAPIError
from statements.validate import StatementValidator


class AppState(TypedDict):
    services: Services


async def take_node_number(db: AsyncDatabase[dict[str, Any]]) -> int:
    """A number unique among the running processes, for the stored sequence."""
    doc = await db["counters"].find_one_and_update(
        {"_id": "node"}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    assert doc is not None  # noqa: S101 - upsert always returns the document
    return int(doc["n"]) % 256


async def open_services(
    settings: Settings,
    mongodb_uri: str,
    forwarding: ForwardingSettings | None = None,
    metrics: Metrics | None = None,
) -> Services:
    metrics = metrics or Metrics(settings.metrics_cache_seconds)
    client = mongo_client(mongodb_uri, [metrics.command_listener])
    db = client[settings.database]
    await ensure_indexes(db)
    forwarding = forwarding or ForwardingSettings()
    forwarders = forwarder_service(db, forwarding)
    await forwarders.ensure_indexes()
    audit = AuditLog(db)
    await audit.ensure_indexes()
    identities = identity_service(db, forwarding, forwarding.max_import_bytes)
    await identities.ensure_indexes()
    home = settings.public_url or f"http://{settings.host}:{settings.port}"
    in_flight = InFlightWrites()
    analytics = Analytics(
        db,
        MongoAnalyticsSource(db),
        lambda: horizon(settings, in_flight),
        file_vocabulary=vocabulary_file(settings.analytics_vocabulary_file),
        busy=in_flight.busy,
        pacing=Pacing(settings.analytics_busy_share),
        people=IdentityPeople(identities.store),
    )
    await analytics.ensure_indexes()
    services = Services(
        settings=settings,
        client=client,
        statements=MongoStatementStore(
            db, on_stored=metrics.observe_stored, on_group=metrics.observe_group
        ),
        credentials=MongoCredentialStore(
            db, authority_home=home, hash_cost=settings.secret_hash_cost
        ),
        validators={v: StatementValidator(v) for v in ("1.0.3", "2.0.0")},
        clock=SequenceClock(await take_node_number(db)),
        documents=MongoDocumentStore(db),
        activities=MongoActivityStore(db),
        forwarders=forwarders,
        audit=audit,
        identities=identities,
        metrics=metrics,
        forwarding=forwarding,
        analytics=analytics,
        in_flight=in_flight,
    )
    services.connectors = ConnectorService(
        db,
        IngestSink(services),
        secrets_key=forwarding.secrets_key,
        public_url=home,
        on_delivery=metrics.observe_connector_delivery,
    )
    await services.connectors.ensure_indexes()
    return services


@contextlib.asynccontextmanager
async def in_process_worker(
    services: Services, forwarding: ForwardingSettings, enabled: bool
) -> AsyncIterator[None]:
    """A forwarding worker inside the API process (the embedded set-up's default)."""
    if not enabled:
        yield
        return
    stop = asyncio.Event()
    db = services.client[services.settings.database]
    worker = Worker(
        db,
        forwarding,
        statements=MongoStatementSource(db),
        worker_id=forwarding.worker_id or f"{socket.gethostname()}:serve:{services.settings.port}",
        on_attempt=services.metrics.observe_delivery,
        vocabulary=services.analytics.vocabulary,
        horizon=lambda: horizon(services.settings, services.in_flight),
    )
    await worker.__aenter__()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        # bounded: in-flight deliveries get the grace period, then the shutdown goes on
        # (with the database gone, nothing here may hold the process hostage)
        stop.set()
        await _bounded(task, forwarding.shutdown_grace_seconds)
        await _bounded(asyncio.ensure_future(worker.__aexit__(None, None, None)), 5)


@contextlib.asynccontextmanager
async def connector_processing(services: Services) -> AsyncIterator[None]:
    """Connector inbox events become statements in the background (and, at start, whatever
    a previous process stored and did not finish)."""
    assert services.connectors is not None  # noqa: S101 - open_services sets it
    stop = asyncio.Event()
    task = asyncio.create_task(services.connectors.processor.run(stop))
    try:
        yield
    finally:
        stop.set()
        await _bounded(task, 5)


async def _bounded(task: asyncio.Future[Any], seconds: float) -> None:
    """Wait at most `seconds`, then cancel without waiting (a stuck task must not hang us)."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()


def create_app(
    settings: Settings,
    mongodb_uri: str | None = None,
    *,
    forwarding: ForwardingSettings | None = None,
    run_worker: bool = False,
    auth: AuthSettings | None = None,
) -> Starlette:
    uri = mongodb_uri or settings.mongodb_uri
    if uri is None:
        raise ValueError("create_app needs a MongoDB URI (the CLI starts the embedded one)")
    gate = AuthGate(auth or AuthSettings(), settings)
    metrics = Metrics(settings.metrics_cache_seconds)
    exports = ExportEndpoints()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        services = await open_services(settings, uri, forwarding, metrics)
        gate.attach(services.credentials, services.audit)
        try:
            async with (
                upgrading_keys(services.client[settings.database]),
                in_process_worker(services, forwarding or ForwardingSettings(), run_worker),
                periodic_retention(services.client[settings.database], settings, services.audit),
                connector_processing(services),
                exports.running(),
                services.analytics.running(settings.analytics_rollups),
            ):
                yield {"services": services}
        finally:
            await gate.aclose()
            # bounded: with the database gone, closing must not hold the shutdown hostage
            await _bounded(asyncio.ensure_future(services.client.close()), 5)

    routes = [
        # first: the router tries routes in order, and xAPI requests are nearly all requests
        Mount(
            "/xapi",
            routes=[
                Route("/statements", StatementsResource),
                Route("/about", about, methods=["GET", "HEAD"]),
                Route("/activities/state", StateResource),
                Route("/activities/profile", ActivityProfileResource),
                Route("/activities", ActivitiesResource),
                Route("/agents/profile", AgentProfileResource),
                Route("/agents", AgentsResource),
            ],
        ),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *OAuthEndpoints(gate).routes(),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi_json),
        Mount(
            "/admin",
            routes=[
                *ADMIN_ROUTES,
                *CREDENTIAL_ROUTES,
                *IDENTITY_ROUTES,
                *DATA_ROUTES,
                *CONNECTOR_ADMIN_ROUTES,
                *exports.routes(),
                *VOCABULARY_ROUTES,
            ],
        ),
        *CONNECTOR_ROUTES,
        Mount("/analytics", routes=ANALYTICS_ROUTES),
        Mount("/feeds", routes=FEED_ROUTES),
        console_mount(gate, exports),
    ]
    middleware = [
        Middleware(EdgeMiddleware, routes=routes, metrics=metrics, access_log=settings.access_log),
        # outside authentication: preflights need no credential, and 401/403/429 carry CORS
        *cors_middleware(settings.cors_origins, settings.cors_max_age),
        Middleware(
            AdmissionMiddleware,
            gate=gate,
            limiter=rate_limiter(settings),
            max_body_bytes=settings.max_body_bytes,
            fallback=settings.fallback_version,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            XAPIError: handle_xapi_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
