"""The ADL LRS conformance suite, run in full against the server as `make run` starts it.

`make conformance` runs it (marker `conformance`, left out of a plain `pytest`: a run takes
about 4 minutes per version). Each version gets a fresh `lrs serve` with its own data
directory; 1.0.3 needs LRS_FALLBACK_VERSION=1.0.3, because the suite sends some requests
without a version header. The runner's output and result file are kept in the test's
temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lrs.storage.embedded import free_port

pytestmark = [pytest.mark.conformance, pytest.mark.slow, pytest.mark.timeout(1800)]

LRS = Path(sys.executable).parent / "lrs"
KEY, SECRET = "conformance", "conformance-secret"


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the LRS did not become ready (exit status {server.poll()})")


def serve(version: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LRS_")},
        "LRS_PORT": str(port),
        "LRS_DATA_DIR": str(data_dir),
        "LRS_ADMIN_KEY": KEY,
        "LRS_ADMIN_SECRET": SECRET,
        "LRS_FALLBACK_VERSION": version,
    }
    with (data_dir.parent / "lrs.log").open("wb") as log:  # the server keeps its own copy
        server = subprocess.Popen([str(LRS), "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, server)
    return server, base


def run_suite(suite: Path, version: str, endpoint: str, output: Path) -> dict[str, int]:
    node = shutil.which("node") or "node"
    command = [node, "bin/console_runner.js", "-x", version, "-e", endpoint, "-a"]
    runner = subprocess.run(
        [*command, "-u", KEY, "-p", SECRET],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    output.write_text(runner.stdout + runner.stderr)
    written = re.search(r"Full run log written to (\S+)", runner.stdout)
    assert written, f"the runner wrote no result file; its output is in {output}"
    summary: dict[str, int] = json.loads(Path(written[1]).read_text())["summary"]
    return summary


@pytest.mark.parametrize("version", ["2.0.0", "1.0.3"])
def test_adl_conformance_suite_passes(version, adl_suite, record_result, tmp_path):
    server, base = serve(version, tmp_path / "var")
    try:
        summary = run_suite(adl_suite, version, f"{base}/xapi", tmp_path / "runner.log")
    finally:
        server.send_signal(signal.SIGTERM)
        stopped = server.wait(60)
    passed, failed = summary["passed"], summary["failed"]
    record_result(f"conformance {version}: {passed} passed, {failed} failed")
    assert failed == 0 and passed > 0, f"{summary}; see {tmp_path}"
    assert stopped == 0
