"""A forwarder worker as its own process: `lrs forwarders run`, or `python -m lrs.cli.worker`.

The worker itself (`forwarders.worker.Worker`) takes a database handle and the statement
source; this module builds them from the `LRS_*` settings, with logging, and stops the
worker on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path

from analytics.vocabulary_store import VocabularyRegistry
from forwarders.config import ForwardingSettings
from forwarders.worker import Worker
from lrs.logs import configure_logging
from lrs.settings import Settings, SettingsError
from lrs.storage.analytics_source import horizon, vocabulary_file as vocabulary_file_extension
from lrs.storage.client import mongo_client
from lrs.storage.statement_source import MongoStatementSource

log = logging.getLogger("forwarders.worker")


async def run_worker(
    mongodb_uri: str,
    database: str,
    settings: ForwardingSettings,
    stop: asyncio.Event,
    lrs: Settings | None = None,
) -> None:
    """A worker with its own database client, until `stop`. It matches verbs with the
    vocabulary the API classifies with (the packaged one, the operator's file
    `LRS_ANALYTICS_VOCABULARY_FILE` and the extension set through the admin API), and
    discovers below the horizon the rollups use (`LRS_ANALYTICS_LAG_MS` ago: this process
    sees no API's writes in flight)."""
    lrs = lrs or Settings()
    client = mongo_client(mongodb_uri)
    try:
        db = client[database]
        vocabulary = VocabularyRegistry(
            db, vocabulary_file_extension(lrs.analytics_vocabulary_file)
        )
        async with Worker(
            db,
            settings,
            statements=MongoStatementSource(db),
            vocabulary=vocabulary,
            horizon=partial(horizon, lrs, frozenset()),
        ) as worker:
            await worker.run(stop)
    finally:
        await client.close()


def mongodb_uri(settings: Settings) -> str | None:
    """The configured URI, or that of the embedded database `lrs serve` is running."""
    if settings.mongodb_uri:
        return settings.mongodb_uri
    uri_file = Path(settings.data_dir) / "db.uri"
    return uri_file.read_text().strip() if uri_file.exists() else None


async def run_until_signalled(
    uri: str, database: str, settings: ForwardingSettings, lrs: Settings | None = None
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run_worker(uri, database, settings, stop, lrs)
    return 0


def main() -> int:
    configure_logging()
    try:
        settings = Settings.from_env(os.environ)
        forwarding = ForwardingSettings.from_env(os.environ)
    except SettingsError as error:
        log.error("%s", error)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    uri = mongodb_uri(settings)
    if uri is None:
        log.error("set LRS_MONGODB_URI, or start `lrs serve` (embedded database) first")
        return 2
    return asyncio.run(run_until_signalled(uri, settings.database, forwarding, settings))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
