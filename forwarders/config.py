"""Forwarding settings, read once from `LRS_FORWARDER_*` variables (or built directly).

Parsed here, not by `lrs.settings`: forwarding owns its settings and imports nothing from
`lrs`. The rules (a malformed or too small number, a non-boolean, is an error naming the
variable) and `SettingsError` are defined here once; `lrs.settings` uses them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from forwarders.delivery.schedule import DEFAULT_POLICY, RetryPolicy, parse_schedule
from forwarders.identity.person import parse_alias_domains


class SettingsError(ValueError):
    """A setting has a value the service or the worker cannot run with."""


def env_number(
    environ: Mapping[str, str], name: str, default: float, minimum: float, *, integer: bool
) -> float:
    """A numeric setting (int or float), at least `minimum`; malformed values are errors."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        what = "an integer" if integer else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean setting: 1/true/yes/on or 0/false/no/off; anything else is an error."""
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be a boolean (true/false), got {raw!r}")


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    return env_number(environ, name, default, minimum, integer=False)


def _policy(environ: Mapping[str, str]) -> RetryPolicy:
    raw = environ.get("LRS_FORWARDER_RETRY_SCHEDULE", "").strip()
    if not raw:
        return DEFAULT_POLICY
    try:
        return RetryPolicy(delays=parse_schedule(raw))
    except ValueError as error:
        raise SettingsError(f"LRS_FORWARDER_RETRY_SCHEDULE: {error}") from None


@dataclass(frozen=True, slots=True)
class ForwardingSettings:
    secrets_key: str | None = field(default=None, repr=False)
    """Fernet key encrypting signing secrets at rest; None stores them plain."""
    allow_private: bool = False
    """Let forwarders reach loopback/private/link-local addresses (tests, on-premise)."""
    policy: RetryPolicy = DEFAULT_POLICY
    concurrency: int = 32
    """Deliveries in flight per worker, all forwarders together."""
    lease_seconds: float = 90.0
    """A claimed job returns to the queue after this long if its worker died. It must exceed
    the longest request (connect 5 + write 20 + read 20 + pool 5 s)."""
    poll_seconds: float = 0.5
    shutdown_grace_seconds: float = 20.0
    heartbeat_seconds: float = 5.0
    discovery_lease_seconds: float = 15.0
    """How long discovery stays with a worker that stopped renewing (it renews every third)."""
    alias_domains: frozenset[str] = frozenset()
    """Email domains whose `+tag` aliases name the same person (`LRS_IDENTITY_ALIAS_DOMAINS`)."""
    max_import_bytes: int = 32 * 1024 * 1024
    """The largest identity import the admin API accepts (`LRS_IDENTITY_MAX_IMPORT_BYTES`)."""
    worker_id: str | None = field(default=None, repr=False)
    """A stable name for this worker (`LRS_FORWARDER_WORKER_ID`: one per worker, e.g. the
    replica's name). A worker restarted under the same name takes back at once the jobs its
    previous run held, rather than waiting out their lease; without one, each run gets a new
    name and a cut-off delivery is re-sent when its lease expires."""
    feed_settle_seconds: float = 5.0
    """The completion feed serves events ready at least this long ago (`LRS_FEED_SETTLE_SECONDS`):
    it must exceed the time between a writer reading its clock for `ready` and its write
    committing, plus the clock skew between writers and API nodes (docs/feeds.md)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ForwardingSettings:
        d = cls()
        return cls(
            secrets_key=environ.get("LRS_FORWARDER_SECRETS_KEY") or None,
            allow_private=env_bool(environ, "LRS_FORWARDER_ALLOW_PRIVATE", d.allow_private),
            policy=_policy(environ),
            concurrency=int(_float(environ, "LRS_FORWARDER_CONCURRENCY", d.concurrency, 1)),
            lease_seconds=_float(environ, "LRS_FORWARDER_LEASE_SECONDS", d.lease_seconds, 1),
            poll_seconds=_float(environ, "LRS_FORWARDER_POLL_SECONDS", d.poll_seconds, 0.01),
            shutdown_grace_seconds=_float(
                environ, "LRS_FORWARDER_SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, 0
            ),
            discovery_lease_seconds=_float(
                environ, "LRS_FORWARDER_DISCOVERY_LEASE_SECONDS", d.discovery_lease_seconds, 0.3
            ),
            alias_domains=parse_alias_domains(environ.get("LRS_IDENTITY_ALIAS_DOMAINS", "")),
            max_import_bytes=int(
                env_number(
                    environ, "LRS_IDENTITY_MAX_IMPORT_BYTES", d.max_import_bytes, 1024, integer=True
                )
            ),
            worker_id=environ.get("LRS_FORWARDER_WORKER_ID", "").strip() or None,
            feed_settle_seconds=_float(
                environ, "LRS_FEED_SETTLE_SECONDS", d.feed_settle_seconds, 0
            ),
        )
