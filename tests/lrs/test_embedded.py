"""The embedded database: a real SecantusDB child process whose data survives restarts."""

from __future__ import annotations

import os
import signal

import pytest
from pymongo import MongoClient, monitoring

from lrs.storage.embedded import (
    EmbeddedDatabase,
    EmbeddedDatabaseError,
    find_running,
    pid_of,
    serves,
)

pytestmark = pytest.mark.slow  # each starts and stops a database process


def test_data_survives_a_restart(tmp_path):
    storage = str(tmp_path / "db")
    with EmbeddedDatabase(storage) as database:
        with MongoClient(database.uri) as client:
            client.lrs.things.insert_one({"_id": "kept"})
    with EmbeddedDatabase(storage) as database, MongoClient(database.uri) as client:
        assert client.lrs.things.find_one({"_id": "kept"}) == {"_id": "kept"}


def test_a_crashed_database_is_reported(tmp_path):
    database = EmbeddedDatabase(str(tmp_path / "db"), log_path=tmp_path / "db.log")
    database.start()
    try:
        pid = pid_of(database)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        database._process.wait(10)  # type: ignore[union-attr]
        with pytest.raises(EmbeddedDatabaseError, match="exited with status"):
            database.check_alive()
    finally:
        database.stop()


def test_stop_is_idempotent(tmp_path):
    database = EmbeddedDatabase(str(tmp_path / "db"))
    database.start()
    database.stop()
    database.stop()
    assert database.returncode() is None


def test_a_second_database_on_storage_in_use_by_a_live_launcher_is_refused(tmp_path):
    storage = str(tmp_path / "db")
    with EmbeddedDatabase(storage) as first:
        with pytest.raises(EmbeddedDatabaseError, match="in use by"):
            EmbeddedDatabase(storage).start()
        assert first.returncode() is None


def test_the_running_database_is_found_with_its_launcher(tmp_path):
    storage = str(tmp_path / "db")
    assert find_running(storage) is None
    with EmbeddedDatabase(storage) as database:
        running = find_running(storage)
        assert running is not None
        assert (running.pid, running.port) == (pid_of(database), database.port)
        assert running.owner == running.parent == os.getpid() and not running.orphaned
        assert serves(database.uri, storage)
        assert not serves("mongodb://127.0.0.1:1/?directConnection=true", storage)
    assert not serves(database.uri, storage)


def test_clients_of_the_embedded_database_send_plain_writes(mongo_server):
    """No `txnNumber`: the daemon keeps and prunes no retryable-write records for us."""
    sent = []

    class Listener(monitoring.CommandListener):
        def started(self, event):
            sent.append(event.command)

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    with MongoClient(mongo_server.uri, event_listeners=[Listener()]) as client:
        client.lrs_plain_writes.things.insert_one({"_id": "plain"})
        client.drop_database("lrs_plain_writes")
    inserts = [command for command in sent if "insert" in command]
    assert inserts and all("txnNumber" not in command for command in inserts)
