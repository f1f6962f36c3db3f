"""`lrs serve` and `lrs credentials`, run as real processes (what `make run` does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lrs.storage.embedded import free_port

pytestmark = pytest.mark.slow  # each starts `lrs` processes (2-45 s)

LRS = str(Path(sys.executable).parent / "lrs")


def lrs_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(LRS_DATA_DIR=str(tmp_path / "var"), LRS_PORT=str(free_port()))
    env.update(extra)
    return env


def read_until(process, needle, timeout=60):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return "".join(lines)
    raise AssertionError(f"{needle!r} not printed; got {''.join(lines)!r}")


def get(url, auth=None):
    request = urllib.request.Request(url)
    request.add_header("X-Experience-API-Version", "2.0.0")
    if auth:
        request.add_header("Authorization", auth)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def serve(tmp_path):
    processes = []

    def start(**extra):
        env = lrs_env(tmp_path, **extra)
        process = subprocess.Popen(
            [LRS, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        processes.append(process)
        return process, env

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_serve_prints_endpoint_credentials_and_curl_then_stops_cleanly(serve, tmp_path):
    process, env = serve()
    banner = read_until(process, "/xapi/statements")
    assert f"http://127.0.0.1:{env['LRS_PORT']}/xapi" in banner
    saved = json.loads((tmp_path / "var" / "admin-credentials.json").read_text())
    assert saved["key"] in banner and saved["secret"] in banner and "curl -u" in banner
    status, _ = get(f"http://127.0.0.1:{env['LRS_PORT']}/readyz")
    assert status == 200
    db_uri = (tmp_path / "var" / "db.uri").read_text()
    assert db_uri.startswith("mongodb://127.0.0.1:")
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert not (tmp_path / "var" / "db.uri").exists()
    assert (tmp_path / "var" / "db").is_dir()


def test_admin_credentials_from_the_environment(serve):
    process, env = serve(LRS_ADMIN_KEY="boss", LRS_ADMIN_SECRET="s3cret-value")
    banner = read_until(process, "/xapi/statements")
    assert "boss" in banner
    assert "s3cret-value" not in banner and "from LRS_ADMIN_SECRET" in banner
    import base64

    auth = "Basic " + base64.b64encode(b"boss:s3cret-value").decode()
    status, body = get(f"http://127.0.0.1:{env['LRS_PORT']}/xapi/statements", auth)
    assert status == 200 and json.loads(body)["statements"] == []


def test_a_restart_names_where_the_generated_secret_is_kept_instead_of_printing_it(serve, tmp_path):
    first, _ = serve()
    read_until(first, "/xapi/statements")
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    saved = json.loads((tmp_path / "var" / "admin-credentials.json").read_text())
    again, _ = serve()
    banner = read_until(again, "/xapi/statements")
    assert saved["key"] in banner and saved["secret"] not in banner
    assert f"kept in {tmp_path / 'var' / 'admin-credentials.json'}" in banner


def test_credentials_commands_reach_the_running_server(serve, tmp_path):
    process, env = serve()
    read_until(process, "/xapi/statements")
    created = subprocess.run(
        [LRS, "credentials", "create", "--name", "lms", "--scopes", "statements/write"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    key = json.loads(created.stdout)["key"]
    listed = subprocess.run(
        [LRS, "credentials", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert key in listed.stdout and "active" in listed.stdout
    assert json.loads(created.stdout)["secret"] not in listed.stdout
    revoked = subprocess.run(
        [LRS, "credentials", "revoke", key], env=env, capture_output=True, text=True, timeout=60
    )
    assert revoked.returncode == 0


def test_unknown_scope_is_refused(tmp_path):
    env = lrs_env(tmp_path)
    result = subprocess.run(
        [LRS, "credentials", "create", "--scopes", "everything"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown scope" in result.stderr


def test_a_crashed_embedded_database_stops_the_server_with_an_error(serve, tmp_path):
    process, env = serve(LRS_FORWARDER_SHUTDOWN_GRACE_SECONDS="2")
    read_until(process, "/xapi/statements")
    port = int((tmp_path / "var" / "db.uri").read_text().split(":")[2].split("/")[0])
    pids = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert pids
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    assert process.wait(90) == 1
    assert "embedded database died" in process.stdout.read()


def test_invalid_setting_is_reported(tmp_path):
    env = lrs_env(tmp_path, LRS_PORT="eighty")
    result = subprocess.run([LRS, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "LRS_PORT" in result.stderr
