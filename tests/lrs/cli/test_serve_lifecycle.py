"""Stopping and restarting `lrs serve`: every exit path stops its embedded database.

Real processes throughout: the server as `make run` starts it, signalled as kill, Docker,
systemd or a terminal would, then restarted and followed by a CLI command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from lrs.storage.embedded import _wait_gone, find_running
from tests.lrs.cli.test_cli import LRS, get, lrs_env, read_until

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(tmp_path):
    """`lrs serve` in its own process group, as a shell or `make run` starts it."""
    processes = []

    def start(**extra):
        env = lrs_env(tmp_path, **extra)
        process = subprocess.Popen(
            [LRS, "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        processes.append(process)
        return process, env

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def started(serve, tmp_path, **extra):
    process, env = serve(**extra)
    read_until(process, "/xapi/statements")
    database = find_running(str(tmp_path / "var" / "db"))
    assert database is not None and database.parent == process.pid
    return process, env, database


def assert_stopped_cleanly(process, tmp_path, database):
    assert process.wait(60) == 0
    assert not (tmp_path / "var" / "db.uri").exists()
    assert _wait_gone(database.pid, 0), "the server exited before its database"
    assert find_running(str(tmp_path / "var" / "db")) is None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_server_stops_it_and_its_database_with_status_0(serve, tmp_path, signum):
    process, _, database = started(serve, tmp_path)
    process.send_signal(signum)
    assert_stopped_cleanly(process, tmp_path, database)


def test_sigterm_to_the_process_group_leaves_no_database_behind(serve, tmp_path):
    process, _, database = started(serve, tmp_path, LRS_FORWARDER_SHUTDOWN_GRACE_SECONDS="2")
    os.killpg(process.pid, signal.SIGTERM)
    os.killpg(process.pid, signal.SIGTERM)  # a second signal must not cut the cleanup short
    assert_stopped_cleanly(process, tmp_path, database)


def test_a_database_whose_server_was_killed_stops_by_itself(serve, tmp_path):
    process, _, database = started(serve, tmp_path)
    process.kill()
    process.wait()
    assert _wait_gone(database.pid, 60)


def test_an_immediate_restart_after_sigkill_takes_over_the_data(serve, tmp_path):
    process, env, database = started(serve, tmp_path)
    key = json.loads((tmp_path / "var" / "admin-credentials.json").read_text())["key"]
    process.kill()
    process.wait()
    restarted, env = serve()
    read_until(restarted, "/xapi/statements")
    assert not _wait_gone(restarted.pid, 0)
    assert get(f"http://127.0.0.1:{env['LRS_PORT']}/readyz")[0] == 200
    assert _wait_gone(database.pid, 0)
    listed = subprocess.run(
        [LRS, "credentials", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and key in listed.stdout
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0


def test_a_cli_command_after_sigkill_starts_the_database_itself(serve, tmp_path):
    process, env, _ = started(serve, tmp_path)
    key = json.loads((tmp_path / "var" / "admin-credentials.json").read_text())["key"]
    process.kill()
    process.wait()
    assert (tmp_path / "var" / "db.uri").exists()
    listed = subprocess.run(
        [LRS, "credentials", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert key in listed.stdout
    assert "no longer served" in listed.stderr
    assert not (tmp_path / "var" / "db.uri").exists()
    assert find_running(str(tmp_path / "var" / "db")) is None
