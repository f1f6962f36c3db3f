"""Service settings, read once from `LRS_*` environment variables and validated at start-up.

The parsing rules and `SettingsError` are forwarding's (`forwarders.config`, which may not
import `lrs`): one error type and one set of rules for every `LRS_*` variable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from forwarders.config import (
    SettingsError as SettingsError,
    env_bool as env_bool,
    env_number as env_number,
)
from lrs.auth.basic import SCRYPT_N
from lrs.logs import LOG_FORMATS, LogFormat
from statements.types import SpecVersion


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    return int(env_number(environ, name, default, minimum, integer=True))


VERSIONS: tuple[SpecVersion, ...] = ("2.0.0", "1.0.3")


def _version(raw: str) -> SpecVersion:
    for version in VERSIONS:
        if raw == version:
            return version
    raise SettingsError(f"LRS_FALLBACK_VERSION must be 2.0.0 or 1.0.3, got {raw!r}")


ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s?#]+", re.IGNORECASE)


def _origins(raw: str) -> tuple[str, ...]:
    """`LRS_CORS_ORIGINS`: comma-separated origins (`https://host[:port]`), or `*` for any."""
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    if "*" in origins:
        return ("*",)
    bad = [o for o in origins if not ORIGIN.fullmatch(o)]
    if bad:
        raise SettingsError(f"LRS_CORS_ORIGINS: not an origin (scheme://host[:port]): {bad}")
    return origins


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _log_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LRS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _log_format(raw: str) -> LogFormat:
    for name in LOG_FORMATS:
        if raw == name:
            return name
    raise SettingsError(f"LRS_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. Build with `Settings.from_env(os.environ)` or directly in tests."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    mongodb_uri: str | None = None
    database: str = "lrs"
    admin_key: str | None = field(default=None, repr=False)
    admin_secret: str | None = field(default=None, repr=False)
    public_url: str | None = None
    max_body_bytes: int = 20 * 1024 * 1024
    max_batch_statements: int = 1000
    max_query_limit: int = 500
    default_query_limit: int = 100
    max_attachment_parts: int = 100
    embedded_cache_size: str = "512M"
    log_level: str = "info"
    fallback_version: SpecVersion = "2.0.0"
    """The version header on responses to requests that sent none (2.0.0 or 1.0.3)."""
    pseudonym_key: str | None = field(default=None, repr=False)
    """Secret of the erasure pseudonyms (HMAC key); None: one generated and kept in the DB."""
    retention_statement_days: int = 0
    """Delete statements stored more than this many days ago (0: keep forever)."""
    retention_delivery_days: int = 0
    """Delete finished forwarder deliveries older than this many days (0: keep forever)."""
    retention_interval_minutes: int = 0
    """Apply the retention policy every this many minutes in `lrs serve` (0: never)."""
    cors_origins: tuple[str, ...] = ()
    """Origins browsers may call from (`*` for any); none: no CORS headers at all."""
    cors_max_age: int = 600
    rate_limit_per_second: float = 0.0
    """Per credential, per API process; 0 turns rate limiting off."""
    rate_limit_burst: int = 0
    """Requests a credential may make at once; 0: one second's worth of the rate."""
    log_format: LogFormat = "auto"
    access_log: bool = True
    metrics_cache_seconds: float = 10.0
    secret_hash_cost: int = SCRYPT_N
    """scrypt's cost (N) for new credential secrets. No environment variable: production keeps
    the default; the test suite lowers it, where hashing dominated the time of a test."""
    analytics_rollups: bool = True
    """Keep the rollups current in this process (the consumer; see docs/analytics.md)."""
    analytics_busy_share: float = 0.1
    """The share of time the consumer works while this process has writes in flight."""
    analytics_lag_ms: int = 2000
    """How far behind the newest writes the rollups stay: longer than any write of another
    API process stays in flight (this process's own writes are tracked exactly)."""
    analytics_vocabulary_file: Path | None = None
    """An operator's vocabulary extension (JSON, the format of `GET /admin/vocabulary`)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        defaults = cls()
        return cls(
            host=environ.get("LRS_HOST", defaults.host),
            port=_int(environ, "LRS_PORT", defaults.port, minimum=0),
            data_dir=Path(environ.get("LRS_DATA_DIR", str(defaults.data_dir))),
            mongodb_uri=environ.get("LRS_MONGODB_URI") or None,
            database=environ.get("LRS_DATABASE", defaults.database),
            admin_key=environ.get("LRS_ADMIN_KEY") or None,
            admin_secret=environ.get("LRS_ADMIN_SECRET") or None,
            public_url=environ.get("LRS_PUBLIC_URL") or None,
            max_body_bytes=_int(environ, "LRS_MAX_BODY_BYTES", defaults.max_body_bytes, 1024),
            max_batch_statements=_int(
                environ, "LRS_MAX_BATCH_STATEMENTS", defaults.max_batch_statements, 1
            ),
            max_query_limit=_int(environ, "LRS_MAX_QUERY_LIMIT", defaults.max_query_limit, 1),
            default_query_limit=_int(
                environ, "LRS_DEFAULT_QUERY_LIMIT", defaults.default_query_limit, 1
            ),
            max_attachment_parts=_int(
                environ, "LRS_MAX_ATTACHMENT_PARTS", defaults.max_attachment_parts, 1
            ),
            embedded_cache_size=environ.get(
                "LRS_EMBEDDED_CACHE_SIZE", defaults.embedded_cache_size
            ),
            log_level=_log_level(environ.get("LRS_LOG_LEVEL", defaults.log_level)),
            fallback_version=_version(
                environ.get("LRS_FALLBACK_VERSION", defaults.fallback_version)
            ),
            pseudonym_key=environ.get("LRS_PSEUDONYM_KEY") or None,
            retention_statement_days=_int(environ, "LRS_RETENTION_STATEMENT_DAYS", 0),
            retention_delivery_days=_int(environ, "LRS_RETENTION_DELIVERY_DAYS", 0),
            retention_interval_minutes=_int(environ, "LRS_RETENTION_INTERVAL_MINUTES", 0),
            cors_origins=_origins(environ.get("LRS_CORS_ORIGINS", "")),
            cors_max_age=_int(environ, "LRS_CORS_MAX_AGE", defaults.cors_max_age),
            rate_limit_per_second=env_number(
                environ, "LRS_RATE_LIMIT_PER_SECOND", 0.0, 0.0, integer=False
            ),
            rate_limit_burst=_int(environ, "LRS_RATE_LIMIT_BURST", defaults.rate_limit_burst),
            log_format=_log_format(environ.get("LRS_LOG_FORMAT", "auto").strip().lower()),
            access_log=env_bool(environ, "LRS_ACCESS_LOG", defaults.access_log),
            metrics_cache_seconds=env_number(
                environ,
                "LRS_METRICS_CACHE_SECONDS",
                defaults.metrics_cache_seconds,
                0.0,
                integer=False,
            ),
            analytics_rollups=env_bool(
                environ, "LRS_ANALYTICS_ROLLUPS", defaults.analytics_rollups
            ),
            analytics_busy_share=env_number(
                environ,
                "LRS_ANALYTICS_BUSY_SHARE",
                defaults.analytics_busy_share,
                0.01,
                integer=False,
            ),
            analytics_lag_ms=_int(environ, "LRS_ANALYTICS_LAG_MS", defaults.analytics_lag_ms),
            analytics_vocabulary_file=_path(environ.get("LRS_ANALYTICS_VOCABULARY_FILE")),
        ).validated()

    def validated(self) -> Settings:
        if (self.admin_key is None) != (self.admin_secret is None):
            raise SettingsError("LRS_ADMIN_KEY and LRS_ADMIN_SECRET must be set together")
        if self.default_query_limit > self.max_query_limit:
            raise SettingsError("LRS_DEFAULT_QUERY_LIMIT must not exceed LRS_MAX_QUERY_LIMIT")
        return self

    @property
    def effective_rate_limit_burst(self) -> int:
        """The bucket size: as configured, else one second's worth of the rate (at least 1)."""
        return self.rate_limit_burst or max(1, math.ceil(self.rate_limit_per_second))

    @property
    def db_dir(self) -> Path:
        return self.data_dir / "db"
