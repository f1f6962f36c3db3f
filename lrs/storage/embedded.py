"""The embedded database: SecantusDB run as a child process speaking the MongoDB wire protocol.

Why a child process and not an import: it gets its own core and GIL, and SecantusDB is
GPL-2.0, so we only ever launch its `secantusd-py` daemon (a clean licence boundary).
The driver talks to it exactly as to MongoDB; nothing else in the code knows it is there.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pymongo import MongoClient
from pymongo.errors import PyMongoError

DAEMON = "secantusd-py"
OWNER_ENV = "SECANTUSD_LAUNCHED_BY"  # the pid that launched the daemon, in the daemon's environment
PROC = Path("/proc")
NO_RETRYABLE_WRITES = "retryWrites=false"
"""Clients of the embedded database send plain writes, not retryable ones. SecantusDB keeps
a copy of every retryable write's reply for 30 minutes (up to 10,000 of them) and walks all
it keeps on every write to prune them (and sorts them all on each write once past 10,000):
that took 28-34 % of the database's CPU per single statement at concurrency 16 (0.83-0.89
against 0.59-0.60 ms, bench on the same code). A retry buys nothing here: one node on
loopback has no failover to retry across. A write whose answer is lost fails its request,
as any write does without a retry; it is never acknowledged."""

log = logging.getLogger("lrs.storage.embedded")


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not start, or died."""


def _daemon_path() -> str:
    beside = Path(sys.executable).parent / DAEMON
    if beside.exists():
        return str(beside)
    found = shutil.which(DAEMON)
    if found is None:
        raise EmbeddedDatabaseError(f"{DAEMON} not found: is the `secantusdb` package installed?")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL the child if the LRS dies without stopping it.

    This fires only when the LRS itself was killed (every orderly exit stops the database
    with SIGTERM and waits for it). SIGKILL, not SIGTERM: a daemon whose shutdown hangs
    would hold the data directory with nobody left to escalate, and found later reparented
    to init and deaf to SIGTERM. Nothing acknowledged is lost: every write is journaled
    (`j: true`) and WiredTiger recovers from its log on the next start.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class EmbeddedDatabase:
    """Start, watch and stop one SecantusDB process.

    `storage` is a directory (kept across restarts) or ":memory:" for tests. The oplog is
    bounded so that storage reused across restarts does not grow (and slow down) forever.
    """

    def __init__(
        self,
        storage: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_size: str = "512M",
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.storage = storage
        self.host = host
        self.port = port or free_port(host)
        self.cache_size = cache_size
        self.log_path = log_path
        self.extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true&{NO_RETRYABLE_WRITES}"

    def command(self) -> list[str]:
        return [
            _daemon_path(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            self.storage,
            "--cache-size",
            self.cache_size,
            "--log-level",
            "WARNING",
            # The oplog keeps a full copy of every write; bound it (an hour, 100k entries) so
            # storage reused across restarts does not grow without end. Forwarding does not
            # depend on it: its worker backfills from the stored sequence.
            "--oplog-retention-seconds",
            "3600",
            "--oplog-max-entries",
            "100000",
            *self.extra_args,
        ]

    def start(self, timeout: float = 60.0) -> str:
        """Launch the daemon and wait until it answers.

        A daemon still holding the same storage (left by a server that was killed) is
        waited for, or stopped, first: WiredTiger admits one process per directory.
        """
        if self.storage != ":memory:":
            self.storage = str(Path(self.storage).resolve())
            Path(self.storage).mkdir(parents=True, exist_ok=True)
            take_over(self.storage)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the LRS, which then stops us in order
            preexec_fn=_die_with_parent,
            env={**os.environ, OWNER_ENV: str(os.getpid())},
        )
        try:
            self._wait_ready(timeout)
        except BaseException:  # a signal or a timeout while starting: never leave it behind
            self.stop()
            raise
        return self.uri

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.returncode()
            if code is not None:
                raise EmbeddedDatabaseError(self._died_message(code))
            if self._ping():
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedDatabaseError(f"{DAEMON} did not answer within {timeout:.0f}s")

    def _ping(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def _died_message(self, code: int) -> str:
        where = f"; see {self.log_path}" if self.log_path else ""
        return f"{DAEMON} exited with status {code}{where}"

    def returncode(self) -> int | None:
        """None while the database runs; its exit status once it has died."""
        return None if self._process is None else self._process.poll()

    def check_alive(self) -> None:
        code = self.returncode()
        if code is not None:
            raise EmbeddedDatabaseError(self._died_message(code))

    def stop(self, timeout: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedDatabase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class RunningDatabase:
    """A daemon found serving some storage, and whether the process that launched it is gone."""

    pid: int
    port: int | None
    owner: int | None
    parent: int

    @property
    def orphaned(self) -> bool:
        """Its launcher died (it was reparented): nobody will stop it in order."""
        return self.owner is None or self.parent != self.owner


def serves(uri: str, storage: str) -> bool:
    """Whether `uri` (as recorded in db.uri) is a daemon on `storage` whose launcher still runs.

    False for an address left behind by a crash or SIGKILL, so callers start the database
    themselves instead of waiting 30 s on a dead port. True where /proc cannot tell.
    """
    if not PROC.is_dir():
        return True
    running = find_running(storage)
    return running is not None and not running.orphaned and f":{running.port}/" in uri


def find_running(storage: str) -> RunningDatabase | None:
    """The daemon process serving `storage`, read from /proc (None where there is no /proc).

    The process table, not a pid file, is the witness: a pid file outlives a SIGKILL and
    its pid can be reused, while a live daemon's argv names its storage exactly.
    """
    if storage == ":memory:" or not PROC.is_dir():
        return None
    wanted = Path(storage).resolve()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            found = _daemon_for(entry, wanted)
            if found is not None:
                return found
    return None


def _daemon_for(entry: Path, wanted: Path) -> RunningDatabase | None:
    try:
        argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        if not any(Path(arg).name == DAEMON for arg in argv[:2]):
            return None
        storage = _flag(argv, "--storage-path")
        if storage is None or (Path(os.readlink(entry / "cwd")) / storage).resolve() != wanted:
            return None
        state, parent = _state(int(entry.name))
        environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
    except (OSError, ValueError):  # it exited while we looked, or is not ours to read
        return None
    if state == "Z":
        return None
    owner = next((v for k, _, v in (e.partition("=") for e in environ) if k == OWNER_ENV), None)
    port = _flag(argv, "--port")
    return RunningDatabase(
        pid=int(entry.name),
        port=int(port) if port and port.isdigit() else None,
        owner=int(owner) if owner and owner.isdigit() else None,
        parent=parent,
    )


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def _state(pid: int) -> tuple[str, int]:
    """The process state letter and parent pid (fields 3 and 4 of /proc/<pid>/stat)."""
    fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    try:
        return _state(pid)[0] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def take_over(storage: str, grace: float = 10.0) -> None:
    """Make way for a new daemon on `storage`: wait for an orphaned one, then stop it.

    An orphan is normally already dying (the parent-death signal); one launched otherwise
    (an older LRS, a stuck shutdown) gets `grace` seconds, then SIGTERM and `grace` more,
    then SIGKILL. A daemon whose launcher still runs belongs to another LRS: an error.
    """
    running = find_running(storage)
    if running is None:
        return
    if not running.orphaned:
        raise EmbeddedDatabaseError(
            f"{storage} is in use by {DAEMON} (pid {running.pid}), run by pid {running.parent}"
        )
    log.warning("waiting for %s (pid %s), left running by a stopped LRS", DAEMON, running.pid)
    for signum in (None, signal.SIGTERM, signal.SIGKILL):
        if signum is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(running.pid, signum)
        if _wait_gone(running.pid, grace):
            return
    raise EmbeddedDatabaseError(f"{DAEMON} (pid {running.pid}) did not stop")


def pid_of(database: EmbeddedDatabase) -> int | None:
    """The daemon's pid (for tests that kill it on purpose)."""
    process = database._process
    return None if process is None else process.pid
