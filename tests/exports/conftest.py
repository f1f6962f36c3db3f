"""Exports against the real app: statements posted over HTTP, exported from its store."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from exports.identities import HrisEmployeeIds
from exports.manifest import MANIFEST, Manifest
from exports.run import run_export
from exports.spec import build_spec
from lrs.services import Services

Export = Callable[..., Any]


@pytest.fixture
def export(services: Services, tmp_path: Path) -> Export:
    """Run an export into `tmp_path/name`; settles on this process's in-flight writes only
    (the writers in these tests are in this process)."""

    async def run(name: str, fmt: str = "ndjson", *, page_size: int = 2000, **options):
        spec = build_spec(fmt, **{"settle_seconds": 0, **options})
        return await run_export(
            spec,
            services.statements,
            tmp_path / name,
            now=datetime.now(UTC),
            identities=HrisEmployeeIds(services.identities.store),
            consistent_through_ms=services.consistent_through_ms,
            page_size=page_size,
        )

    return run


async def post(client, statements: list[dict[str, Any]]) -> list[str]:
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text
    return list(response.json())


def ndjson_ids(directory: Path, manifest: Manifest) -> list[str]:
    ids = []
    for entry in manifest.files:
        with gzip.open(directory / entry.name, "rb") as stream:
            ids += [orjson.loads(line)["id"] for line in stream]
    return ids


def read_manifest(directory: Path) -> dict[str, Any]:
    return dict(orjson.loads((directory / MANIFEST).read_bytes()))
