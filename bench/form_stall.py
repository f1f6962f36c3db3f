"""How long hostile alternate-syntax forms hold the server, and what they do to other requests.

```sh
LRS_PORT=18123 LRS_DATA_DIR=/tmp/var LRS_ADMIN_KEY=k LRS_ADMIN_SECRET=ssssssssssssssss \
    .venv/bin/lrs serve &
.venv/bin/python bench/form_stall.py --url http://127.0.0.1:18123 --key k \
    --secret ssssssssssssssss
```

Each case POSTs one form to `/xapi/...?method=...` while a second task GETs `/xapi/about`
every 20 ms; it prints the form's status and time, and the slowest `/about` meanwhile (a
server that parses on its event loop answers nothing else until it is done).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from urllib.parse import quote

import httpx

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cases(auth: str) -> list[tuple[str, str, bytes]]:
    big = quote('{"x": "' + "é" * 3_000_000 + '"}').encode()
    version = b"X-Experience-API-Version=1.0.3"
    state = (
        b"activityId=http%3A%2F%2Fex.com%2Fa&stateId=s&"
        b"agent=%7B%22mbox%22%3A%22mailto%3Aa%40ex.com%22%7D&"
    )
    return [
        ("2,000,000 empty fields, no credential", "statements?method=GET", b"a&" * 2_000_000),
        ("18 MB content, no credential", "activities/state?method=PUT",
         state + version + b"&content=" + big),
        ("18 MB content, with credential", "activities/state?method=PUT",
         state + version + b"&Authorization=" + quote(auth).encode() + b"&content=" + big),
    ]  # fmt: skip


async def watch(client: httpx.AsyncClient, stop: asyncio.Event) -> float:
    slowest = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/xapi/about")
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return slowest


async def run(url: str, auth: str) -> None:
    async with (
        httpx.AsyncClient(base_url=url, timeout=120) as poster,
        httpx.AsyncClient(base_url=url, timeout=120) as watcher,
    ):
        for name, path, body in cases(auth):
            stop = asyncio.Event()
            watching = asyncio.create_task(watch(watcher, stop))
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            response = await poster.post(f"/xapi/{path}", content=body, headers=FORM)
            took = time.perf_counter() - started
            stop.set()
            slowest = await watching
            print(
                f"{name:40s} {response.status_code} in {took * 1000:7.0f} ms; "
                f"slowest /xapi/about meanwhile {slowest * 1000:6.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    auth = "Basic " + base64.b64encode(f"{args.key}:{args.secret}".encode()).decode()
    asyncio.run(run(args.url, auth))


if __name__ == "__main__":
    main()
