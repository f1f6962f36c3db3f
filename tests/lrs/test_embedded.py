"""The embedded database: a real SecantusDB child process whose data survives restarts."""

from __future__ import annotations

import os
import signal

import pytest
from pymongo import MongoClient

from lrs.storage.embedded import EmbeddedDatabase, EmbeddedDatabaseError, pid_of

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
