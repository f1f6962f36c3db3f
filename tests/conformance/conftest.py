"""The ADL conformance suite, prepared once per session, and its one-line results.

The suite is found at LRS_CONFORMANCE_SUITE, or beside the repository at
`../shared/lrs-conformance-test-suite` (where CI lays it out, read-only). It is copied to a
temporary folder and its npm dependencies installed there (`npm ci` from its lock file).
Without it the tests skip and say why, unless LRS_CONFORMANCE_REQUIRED is set (CI), where a
missing suite or Node.js is a failure: a check that cannot run must not pass silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
BESIDE = REPOSITORY.parent / "shared" / "lrs-conformance-test-suite"
RESULTS = pytest.StashKey[list[str]]()


def suite_source() -> Path:
    configured = os.environ.get("LRS_CONFORMANCE_SUITE") or os.environ.get(
        "LRS_CONFORMANCE_SUITE_PATH"
    )
    return Path(configured) if configured else BESIDE


def unavailable(reason: str) -> None:
    if os.environ.get("LRS_CONFORMANCE_REQUIRED"):
        pytest.fail(f"conformance required but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def adl_suite(tmp_path_factory) -> Path:
    """A private, writable copy of the suite with its dependencies installed."""
    source = suite_source()
    if not (source / "bin" / "console_runner.js").is_file():
        unavailable(f"no ADL suite at {source} (set LRS_CONFORMANCE_SUITE to a checkout)")
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        unavailable("Node.js (node and npm) is not installed")
    suite = tmp_path_factory.mktemp("adl") / "suite"
    shutil.copytree(source, suite, ignore=shutil.ignore_patterns("node_modules", "logs"))
    suite.chmod(0o755)
    for path in suite.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    install = "ci" if (suite / "package-lock.json").exists() else "install"
    subprocess.run(
        [str(npm), install, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=suite,
        check=True,
        timeout=900,
    )
    return suite


@pytest.fixture
def record_result(request):
    """Keep a line for the end of the run (`conformance 2.0.0: P passed, F failed`)."""
    return request.config.stash.setdefault(RESULTS, []).append


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for line in config.stash.get(RESULTS, []):
        terminalreporter.write_line(line)
