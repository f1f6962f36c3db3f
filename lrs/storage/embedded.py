"""The embedded database: SecantusDB run as a child process speaking the MongoDB wire protocol.

Why a child process and not an import: it gets its own core and GIL, and SecantusDB is
GPL-2.0, so we only ever launch its `secantusd-py` daemon (a clean licence boundary).
The driver talks to it exactly as to MongoDB; nothing else in the code knows it is there.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from pymongo import MongoClient
from pymongo.errors import PyMongoError

DAEMON = "secantusd-py"


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
    """Ask Linux to SIGTERM the database if the LRS dies without stopping it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

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
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
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
        )
        self._wait_ready(timeout)
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


def pid_of(database: EmbeddedDatabase) -> int | None:
    """The daemon's pid (for tests that kill it on purpose)."""
    process = database._process
    return None if process is None else process.pid
