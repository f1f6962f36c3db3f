"""docker-compose.yml: valid Compose, and every command it runs is one we ship.

No Docker engine runs here, so the file is checked statically: against the Compose
specification JSON schema (from the PyPI `docker-compose` 1.29.2 wheel, fetched into the
virtual environment by `make test`), and each `lrs ...` command against our CLI parser.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from lrs.cli import parser

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(sys.prefix) / "compose_spec.json"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_specification(compose):
    assert SCHEMA.exists(), f"{SCHEMA} missing: run `make test` (it fetches the schema)"
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)  # its $schema URI ends in "#"


def test_every_lrs_command_exists(compose):
    commands = [s["command"] for s in compose["services"].values() if "command" in s]
    ours = [c for c in commands if c[0] == "lrs"]
    assert ours
    for command in ours:
        parser().parse_args(command[1:])


def test_built_services_have_a_dockerfile_with_our_packages(compose):
    built = [s for s in compose["services"].values() if "build" in s]
    assert built
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("lrs", "statements", "forwarders"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_every_service_has_a_health_check(compose):
    missing = [name for name, s in compose["services"].items() if "healthcheck" not in s]
    assert missing == []


def test_api_uses_the_replica_set_and_takes_secrets_from_the_environment(compose):
    lrs = compose["services"]["lrs"]["environment"]
    assert "replicaSet=rs0" in lrs["LRS_MONGODB_URI"]
    assert lrs["LRS_ADMIN_SECRET"].startswith("${")
