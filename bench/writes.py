"""Single-statement writes against batches of 100, before and after, in one run.

    .venv/bin/python bench/writes.py [--baseline /path/to/an/older/tree] [--rounds 2]
        [--fill 10000] [--batches 10000] [--singles 5000] [--sustained 0] [--out FILE]

Each variant (see variants.py) gets a fresh on-disk database and its own `lrs serve`; the
variants run interleaved, round after round. Phases, at the store size reached so far:

| phase | what |
| --- | --- |
| `fill` | batches of 100 at concurrency 4 (not compared: warms the store up to `--fill`) |
| `batch x100 c4` | `--batches` statements in batches of 100 at concurrency 4 |
| `single c1` | single statements (POST) one at a time: a lone client's latency |
| `single c16` | single statements at concurrency 16 |
| `single c16 sustained N` | `--sustained` more, 10,000 a row: does the rate hold? |

The target of issue 16 part 1 is `single c16` statements/s >= 50 % of `batch x100 c4`
statements/s of the same variant and round, and p99 of `single c1` and `single c16` no worse
than the baseline's. Rows carry p50/p95/p99 and the CPU seconds of the LRS, the database,
the client and everything else on the machine; peak RSS (VmHWM) closes each variant. After
each single-statement phase a line gives the CPU milliseconds per statement of the LRS, the
database and the client, and the group writes' sizes (from `/metrics`; a tree without the
`lrs_statement_group_size` histogram shows none). The client's share matters: real clients
run on other machines, while here they take CPU from the two processes being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from common import StatementFactory, make_pools, peak_rss_mib
from ingest import (
    BATCH,
    HEADER,
    SEED,
    Recorder,
    http_client,
    post_statements,
    statement_bodies,
)
from prometheus_client.parser import text_string_to_metric_families
from variants import fresh_lrs, variants

PHASE_SECONDS = 40.0
SUSTAINED_SLICE = 10_000
"""`--sustained` single statements are posted in phases of this many, one row each."""


async def measure(args: argparse.Namespace, tree: Path, seed: int) -> dict[str, Any]:
    with fresh_lrs(tree) as lrs:
        recorder = Recorder({"lrs": lrs.lrs_pid, "db": lrs.db_pid, "client": os.getpid()})
        factory = StatementFactory(make_pools(SEED), seed)
        stored: list[str] = []
        sustained = [
            (f"single c16 sustained {i + 1}", SUSTAINED_SLICE, 1, 16)
            for i in range(args.sustained // SUSTAINED_SLICE)
        ]
        for name, statements, per_request, concurrency in (
            ("fill", args.fill, BATCH, 4),
            (f"batch x{BATCH} c4", args.batches, BATCH, 4),
            ("single c1", args.singles // 5, 1, 1),
            ("single c16", args.singles, 1, 16),
            *sustained,
        ):
            bodies = statement_bodies(factory, statements, per_request)
            # a client per phase: connections idle longer than the server's keep-alive (5 s)
            # are closed by it, and http1.py does not retry a request on a closed one
            async with http_client(lrs.base_url, concurrency) as client:
                work = post_statements(
                    client, bodies, stored, concurrency=concurrency, max_seconds=PHASE_SECONDS
                )
                sizes = await group_sizes(lrs.base_url)
                row = await recorder.phase(name, "lrs", concurrency, work, writes=True)
                if per_request == 1:
                    row["groups"] = since(await group_sizes(lrs.base_url), sizes)
                    print(per_statement(row), flush=True)
        rss = {"lrs": peak_rss_mib(lrs.lrs_pid), "db": peak_rss_mib(lrs.db_pid)}
    rows = {r["phase"]: r for r in recorder.rows}
    batch = rows[f"batch x{BATCH} c4"]["statements_per_s"]
    single = rows["single c16"]["statements_per_s"]
    return {"rows": recorder.rows, "single_c16_over_batch": round(single / batch, 3), "rss": rss}


GROUP_SIZE = "lrs_statement_group_size"


async def group_sizes(base_url: str) -> dict[str, float]:
    """The group-size histogram's samples (`le` buckets, `count`, `sum`) as they stand.

    Through a connection of its own: the phase's may have idled past the server's keep-alive
    while the database settled, and http1.py does not retry on a closed connection."""
    async with http_client(base_url, 1) as client:
        response = await client.get("/metrics")
    if response.status_code != 200:
        return {}
    found = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == GROUP_SIZE:
            for sample in family.samples:
                label = sample.labels.get("le", sample.name.removeprefix(GROUP_SIZE + "_"))
                found[label] = sample.value
    return found


def since(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def per_statement(row: dict[str, Any]) -> str:
    """CPU ms per statement by process, and the groups' mean size and size buckets."""
    n = max(1, row["statements"])
    cpu = " / ".join(f"{k} {v * 1000 / n:.2f}" for k, v in row["cpu_seconds"].items())
    groups = row["groups"]
    if not groups.get("count"):
        return f"  cpu ms per statement: {cpu}; group sizes: not reported"
    buckets = ", ".join(
        f"<={k}: {v:.0f}" for k, v in groups.items() if k not in ("count", "sum", "created")
    )
    mean = groups["sum"] / groups["count"]
    return f"  cpu ms per statement: {cpu}; groups: mean {mean:.1f} (cumulative {buckets})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fill", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=5_000)
    parser.add_argument(
        "--sustained",
        type=int,
        default=0,
        help="more single statements at concurrency 16 after the others, in rows of 10,000",
    )
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    for round_no in range(1, args.rounds + 1):
        for name, tree in variants(args.baseline):
            print(f"\nround {round_no}: {name} ({tree})\n{HEADER}", flush=True)
            result = asyncio.run(measure(args, tree, seed=SEED + round_no))
            print(
                f"single c16 / batch x{BATCH}: {result['single_c16_over_batch']:.0%}; "
                f"peak RSS MiB: {result['rss']}",
                flush=True,
            )
            results.append({"round": round_no, "variant": name, **result})
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
