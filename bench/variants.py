"""One source tree's LRS on a fresh database: before/after comparisons in one run.

A variant is a source tree (`--baseline`: a checkout of older code, e.g.
`git archive main | tar -x -C /tmp/base`; or this tree). Its `lrs serve` runs as
`python -m lrs.cli serve` with `PYTHONPATH` set to the tree, on this venv's interpreter and
dependencies, so only the project's own code differs between variants. Benchmarks run the
variants interleaved (base, current, base, current): the machine's cores are shared, and
the spread between rounds says how much a difference can be trusted.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from lrs.storage.embedded import EmbeddedDatabase, _die_with_parent, free_port, pid_of, stop_process

HOST = "127.0.0.1"
ADMIN_KEY = "bench-admin"
ADMIN_SECRET = "bench-admin-secret-0123456789"  # noqa: S105 - a throwaway local credential
DATABASE = "bench"
CURRENT = Path(__file__).resolve().parent.parent
OPLOG_ARGS = ("--oplog-max-entries", "10000000", "--oplog-retention-seconds", "31536000")
"""For a store filled with hundreds of thousands of statements in minutes: past the oplog's
usual cap (100,000 entries, `lrs.storage.embedded`) SecantusDB prunes the oldest entries on
every insert, walking over the ones it deleted before, and a fill stalls (seen: no progress
past 60,000 statements in 15 minutes, and still stalled after a restart with a higher cap
until the store was made anew). Benchmarks that read a big store give its database these."""


@dataclass
class Running:
    uri: str
    base_url: str
    lrs_pid: int
    db_pid: int
    workdir: Path


def variants(baseline: Path | None) -> list[tuple[str, Path]]:
    found = [("current", CURRENT)]
    if baseline is not None:
        found.insert(0, ("baseline", baseline.resolve()))
    return found


@contextlib.contextmanager
def fresh_lrs(tree: Path, **settings: str) -> Iterator[Running]:
    """A new on-disk database and the tree's LRS on it; both stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="lrs-bench-") as tmp:
        workdir = Path(tmp)
        database = EmbeddedDatabase(str(workdir / "db"), log_path=workdir / "secantusd.log")
        with database:
            db_pid = pid_of(database)
            assert db_pid is not None
            uri = deployed_uri(tree, database)
            with running_lrs(tree, uri, workdir, settings) as (process, base_url):
                yield Running(uri, base_url, process.pid, db_pid, workdir)


def deployed_uri(tree: Path, database: EmbeddedDatabase) -> str:
    """The URI the tree's own `lrs serve` would give its clients for this database: its
    options differ between versions (`retryWrites`), and each variant runs as deployed."""
    code = (
        "import sys; from lrs.storage.embedded import EmbeddedDatabase as E; "
        "print(E(':memory:', host=sys.argv[1], port=int(sys.argv[2])).uri)"
    )
    found = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", code, database.host, str(database.port)],
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


@contextlib.contextmanager
def running_lrs(
    tree: Path, uri: str, workdir: Path, settings: dict[str, str], database: str = DATABASE
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port(HOST)
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "LRS_HOST": HOST,
        "LRS_PORT": str(port),
        "LRS_MONGODB_URI": uri,
        "LRS_DATABASE": database,
        "LRS_ADMIN_KEY": ADMIN_KEY,
        "LRS_ADMIN_SECRET": ADMIN_SECRET,
        "LRS_DATA_DIR": str(workdir / "lrs-data"),
        "LRS_LOG_LEVEL": "warning",
        **settings,
    }
    process = spawn([sys.executable, "-m", "lrs.cli", "serve"], tree, env, workdir / "lrs.log")
    base_url = f"http://{HOST}:{port}"
    try:
        wait_ready(process, base_url)
        yield process, base_url
    finally:
        stop_process(process)


def spawn(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A server process for a bench: its own session (Ctrl-C reaches the bench, which stops
    it in order), output appended to `log`, and gone with the bench if the bench dies."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the LRS exited ({process.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit("the LRS was not ready in time")
