"""The ADL LRS conformance suite, run against the real server (marker `conformance`).

The suite is fetched, never committed: point LRS_CONFORMANCE_SUITE at a checkout with its
`npm install` done. Without it the test skips and says why. `make conformance` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lrs.storage.embedded import free_port

pytestmark = pytest.mark.conformance

SUITE = os.environ.get("LRS_CONFORMANCE_SUITE_PATH") or os.environ.get("LRS_CONFORMANCE_SUITE")


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("the LRS did not become ready")


@pytest.mark.parametrize("version", ["2.0.0", "1.0.3"])
def test_adl_conformance_suite_passes(version, tmp_path):
    if not SUITE:
        pytest.skip(
            "LRS_CONFORMANCE_SUITE is not set (a checkout of adlnet/lrs-conformance-test-suite)"
        )
    suite = Path(SUITE)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LRS_")},
        "LRS_PORT": str(port),
        "LRS_DATA_DIR": str(tmp_path / "var"),
        "LRS_ADMIN_KEY": "conformance",
        "LRS_ADMIN_SECRET": "conformance-secret",
        "LRS_FALLBACK_VERSION": version,
    }
    lrs = Path(sys.executable).parent / "lrs"
    server = subprocess.Popen([str(lrs), "serve"], env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        runner = subprocess.run(
            [
                shutil.which("node") or "node",
                "bin/console_runner.js",
                "-x",
                version,
                "-e",
                f"http://127.0.0.1:{port}/xapi",
                "-a",
                "-u",
                "conformance",
                "-p",
                "conformance-secret",
            ],
            cwd=suite,
            capture_output=True,
            text=True,
            timeout=3000,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(30)
    log = tmp_path / f"adl-{version}.log"
    log.write_text(runner.stdout + runner.stderr)
    result_files = sorted((suite / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    assert result_files, f"no result file; runner output kept in {log}"
    summary = json.loads(result_files[-1].read_text())["summary"]
    assert summary["failed"] == 0, f"{summary}; see {result_files[-1]}"
