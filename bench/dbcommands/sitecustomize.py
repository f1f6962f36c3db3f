"""Database CPU per command and collection, counted inside the embedded database.

`bench/forwarding.py --db-commands` puts this directory on the `PYTHONPATH` of the
SecantusDB daemon it starts; Python imports `sitecustomize` at start-up, and in the daemon
only (every other process ignores it) this wraps the command dispatcher: each command adds
its count, its thread CPU time and its wall time under `<command>:<collection>`, and the
documents it wrote. Why inside: SecantusDB runs in Python, one thread per connection under
one GIL, so the process's CPU alone cannot say which client's commands it went to, and
sampling profilers cannot name the collection.

The bench drives it through files beside `BENCH_DB_COMMANDS` (a path): `<path>.reset`
zeroes the counts, `<path>.dump` writes them to `<path>` as JSON.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
from typing import Any

WRITES = {"insert": "documents", "update": "updates", "delete": "deletes"}


def _install(path: str) -> None:
    import secantus.commands as commands
    import secantus.server as server
    import secantus.storage as storage

    counts: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0, 0])
    conflicts = [0]
    lock = threading.Lock()
    original = commands.dispatch

    def dispatch(doc: dict[str, Any], ctx: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return original(doc, ctx)
        finally:
            name = next(iter(doc), "?")
            target = doc.get("collection" if name == "getMore" else name)
            written = len(doc.get(WRITES.get(name, ""), ()) or ())
            with lock:
                entry = counts[f"{name}:{target if isinstance(target, str) else ''}"]
                entry[0] += 1
                entry[1] += time.thread_time() - cpu
                entry[2] += time.perf_counter() - wall
                entry[3] += written

    rollback = storage._is_wt_rollback

    def is_rollback(error: BaseException) -> bool:
        found = bool(rollback(error))
        conflicts[0] += found
        return found

    def dump() -> None:
        with lock:
            data = {
                "commands": {
                    key: {"n": int(n), "cpu_s": round(cpu, 4), "wall_s": round(wall, 4), "docs": d}
                    for key, (n, cpu, wall, d) in counts.items()
                },
                "write_conflicts": conflicts[0],
            }
        with open(path + ".tmp", "w") as out:
            json.dump(data, out)
        os.replace(path + ".tmp", path)

    def reset() -> None:
        with lock:
            counts.clear()
            conflicts[0] = 0

    def watch() -> None:
        while True:
            time.sleep(0.05)
            for suffix, action in ((".reset", reset), (".dump", dump)):
                if os.path.exists(path + suffix):
                    action()
                    os.unlink(path + suffix)

    commands.dispatch = dispatch
    server.dispatch = dispatch  # imported by name there
    storage._is_wt_rollback = is_rollback
    threading.Thread(target=watch, name="bench-db-commands", daemon=True).start()


if sys.argv and sys.argv[0].endswith("secantusd-py") and os.environ.get("BENCH_DB_COMMANDS"):
    _install(os.environ["BENCH_DB_COMMANDS"])
