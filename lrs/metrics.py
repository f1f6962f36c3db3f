"""Prometheus metrics of one API process, served at `/metrics` (see docs/observability.md).

Each app gets its own `CollectorRegistry` (no module-level state: tests build many apps, and
two apps in one process must not share counters). What is counted where:

- HTTP requests and latency: `lrs.http.edge` (through `lrs.http.access_log`), labelled by
  route template (never the raw path: label values stay bounded);
- statements stored: `MongoStatementStore` after each durable insert (`on_stored`), and the
  size of each group write of single statements (`on_group`);
- database latency: a pymongo `CommandListener` on the service's client;
- delivery latency: the in-process forwarding worker, per attempt (`on_attempt`);
- conferencing connector deliveries and rejections: `connectors.service` (`on_delivery`);
- forwarding events by state, queue depth, unmatched: computed at scrape time from the
  delivery queue, cached for `cache_seconds` so frequent scrapes stay cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase

from forwarders.queue import Attempt
from forwarders.stats import queue_counts
from lrs.rate_meter import RateMeter

UNMATCHED = "unmatched"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format every Prometheus-compatible scraper reads (our names are ASCII)."""
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 100)
"""Single statements per group write: at most `mongo_statements.GROUP_LIMIT` (100)."""
DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CommandTimer(monitoring.CommandListener):
    """Observes every MongoDB command's duration, by command name and outcome."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event.command_name, "succeeded", event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event.command_name, "failed", event.duration_micros)

    def _observe(self, command: str, outcome: str, micros: int) -> None:
        self.histogram.labels(command=command, outcome=outcome).observe(micros / 1e6)


class Metrics:
    def __init__(
        self, cache_seconds: float = 10.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.registry = CollectorRegistry()
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._refreshed_at = -float("inf")
        self._refreshing = asyncio.Lock()
        http = ["method", "route", "status"]
        self.requests = Counter(
            "lrs_http_requests", "HTTP requests answered", http, registry=self.registry
        )
        self.request_seconds = Histogram(
            "lrs_http_request_duration_seconds",
            "Time to answer an HTTP request",
            http,
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        """Each request line's labelled metrics, looked up once (`labels()` checks and locks)."""
        self.statements_stored = Counter(
            "lrs_statements_stored", "Statements durably stored", registry=self.registry
        )
        self.group_size = Histogram(
            "lrs_statement_group_size",
            "Single-statement requests written together in one group write",
            buckets=GROUP_BUCKETS,
            registry=self.registry,
        )
        self.db_seconds = Histogram(
            "lrs_mongodb_command_duration_seconds",
            "MongoDB command round trips as the driver saw them",
            ["command", "outcome"],
            buckets=DB_BUCKETS,
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "lrs_forwarding_delivery_duration_seconds",
            "Webhook delivery attempts made by this process's worker",
            ["outcome"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.events = Gauge(
            "lrs_forwarding_events",
            "Forwarding events by forwarder and state (at most cache_seconds old)",
            ["forwarder", "state"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "lrs_forwarding_queue_depth",
            "Forwarding events due for delivery and not yet claimed",
            registry=self.registry,
        )
        self.unmatched = Gauge(
            "lrs_forwarding_unmatched_events",
            "Forwarding events waiting for an identity (state unmatched)",
            registry=self.registry,
        )
        self.connector_deliveries = Counter(
            "lrs_connector_deliveries",
            "Conferencing provider deliveries by connector kind and outcome (accepted, "
            "duplicate, ignored, url_validation, bad_signature, bad_shape, too_large, "
            "unknown_connector)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.command_listener = CommandTimer(self.db_seconds)
        self.ingest = RateMeter(monotonic=monotonic)
        """Statements stored per second over the last minute (the console's "now")."""

    # -- observations -----------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        line = (method, route, status)
        children = self._request_children.get(line)
        if children is None:
            labels = {"method": method, "route": route, "status": str(status)}
            children = self.requests.labels(**labels), self.request_seconds.labels(**labels)
            self._request_children[line] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_stored(self, count: int) -> None:
        self.statements_stored.inc(count)
        self.ingest.add(count)

    def observe_group(self, size: int) -> None:
        self.group_size.observe(size)

    def observe_delivery(self, attempt: Attempt) -> None:
        outcome = attempt.outcome.lower()
        self.delivery_seconds.labels(outcome=outcome).observe(attempt.latency_ms / 1000)

    def observe_connector_delivery(self, kind: str, outcome: str) -> None:
        self.connector_deliveries.labels(kind=kind, outcome=outcome).inc()

    # -- scrape -----------------------------------------------------------------------------

    async def refresh_queue(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        """Recount the delivery queue unless the last count is younger than the cache."""
        if self.monotonic() - self._refreshed_at < self.cache_seconds:
            return
        async with self._refreshing:
            if self.monotonic() - self._refreshed_at < self.cache_seconds:
                return  # a concurrent scrape did it while we waited
            counts = await queue_counts(db, datetime.now(UTC))
            self.events.clear()
            for (forwarder, state), n in counts.by_state.items():
                self.events.labels(forwarder=forwarder, state=state).set(n)
            self.queue_depth.set(counts.due)
            self.unmatched.set(counts.in_state(UNMATCHED))
            self._refreshed_at = self.monotonic()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
