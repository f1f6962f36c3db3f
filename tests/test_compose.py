"""docker-compose.yml: valid Compose, and consistent with the project it deploys.

No Docker engine runs here, so the file is checked statically: against the Compose
Specification JSON schema kept in tests/data (see tests/data/README.md for its provenance),
each `lrs ...` command against our CLI parser, each mounted or built file against the
repository, each image for a pinned tag, and the proxy's upstreams against the services.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lrs.cli.main import parser
from tests.test_docs import setting_names

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
PINNED = re.compile(r"^[a-z0-9./_-]+(:\d+(\.\d+)+[a-z0-9.-]*|@sha256:[0-9a-f]{64})$")
REQUIRED_SECRETS = ("LRS_ADMIN_KEY", "LRS_ADMIN_SECRET", "LRS_FORWARDER_SECRETS_KEY")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def validator() -> jsonschema.Draft7Validator:
    # explicitly draft 7: its "$schema" (https://json-schema.org/draft-07/schema, no "#")
    # is not a URI jsonschema recognises
    schema = json.loads(SCHEMA.read_text())
    assert "draft-07" in schema["$schema"]
    return jsonschema.Draft7Validator(schema)


def health_command(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str) or test[0] == "CMD-SHELL":
        return shlex.split(test if isinstance(test, str) else test[1])
    assert test[0] == "CMD"
    return list(test[1:])


def commands(services) -> list[list[str]]:
    found = [list(s["command"]) for s in services.values() if "command" in s]
    return found + [health_command(s) for s in services.values() if "healthcheck" in s]


def host_paths(service: dict[str, Any]) -> list[str]:
    """Bind-mounted host paths (short syntax `source:target[:mode]`, or long syntax)."""
    paths = []
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith((".", "/")):
            paths.append(source)
    return paths


def test_compose_file_matches_the_compose_specification(compose):
    validator().validate(compose)


def test_the_schema_rejects_what_compose_would_reject():
    def service(**fields: Any) -> dict[str, Any]:
        return {"services": {"api": {"image": "x:1.0", **fields}}}

    assert validator().is_valid(service(healthcheck={"test": ["CMD", "true"]}))
    assert not validator().is_valid(service(imag="x:1.0"))
    assert not validator().is_valid(service(healthcheck={"tset": ["CMD", "true"]}))
    assert not validator().is_valid(service(depends_on={"db": {"condition": "service_fine"}}))


def test_every_lrs_command_parses_with_our_cli(services):
    ours = [c for c in commands(services) if c[0] == "lrs"]
    assert {tuple(c[1:2]) for c in ours} >= {("serve",), ("forwarders",), ("demo-receiver",)}
    for command in ours:
        parser().parse_args(command[1:])


def test_the_stack_has_the_database_the_api_the_proxy_a_worker_and_the_demo_receiver(services):
    def runs(*words: str) -> list[str]:
        return [n for n, s in services.items() if s.get("command", [])[: len(words)] == [*words]]

    assert runs("mongod") and runs("lrs", "serve") and runs("lrs", "forwarders", "run")
    assert runs("lrs", "demo-receiver")
    api = services[runs("lrs", "serve")[0]]
    assert api["deploy"]["replicas"] >= 2
    # replicas cannot share a published port or a container name: the proxy publishes
    assert "ports" not in api and "container_name" not in api


def test_every_service_has_a_health_check_and_waits_only_on_checked_services(services):
    assert [n for n, s in services.items() if not s.get("healthcheck", {}).get("test")] == []
    for service in services.values():
        for name, condition in service.get("depends_on", {}).items():
            assert name in services
            assert condition["condition"] == "service_healthy"


def test_health_checks_probe_the_port_each_service_listens_on(services):
    for name, service in services.items():
        for port in re.findall(r"127\.0\.0\.1:(\d+)/", " ".join(health_command(service))):
            listening = {str(p) for p in service.get("expose", [])}
            listening |= {str(p).split(":")[-1] for p in service.get("ports", [])}
            assert port in listening, name


def test_every_image_is_pinned_and_ours_carries_the_project_version(services):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services.items():
        image = service["image"]
        assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
        if "build" in service:
            assert image == f"lrs:{version}"
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert base and PINNED.match(base[1])


def test_built_services_have_a_dockerfile_that_installs_our_packages(services):
    built = [s for s in services.values() if "build" in s]
    assert built
    for service in built:
        context = ROOT / service["build"]
        dockerfile = (context / "Dockerfile").read_text()
        for package in ("lrs", "statements", "forwarders"):
            assert f"COPY {package} ./{package}" in dockerfile
            assert (context / package).is_dir()


def test_every_mounted_file_exists(services):
    mounted = [p for s in services.values() for p in host_paths(s)]
    assert mounted
    assert [p for p in mounted if not (ROOT / p).exists()] == []


def nginx_config(services) -> tuple[str, str]:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if target == "/etc/nginx/nginx.conf":
                return name, (ROOT / source).read_text()
    raise AssertionError("no service mounts an nginx.conf")


def test_the_proxy_forwards_to_the_api_service_on_its_port(services):
    proxy, config = nginx_config(services)
    upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", config, re.DOTALL))
    passes = re.findall(r"proxy_pass http://(\w+);", config)
    assert passes and set(passes) <= set(upstreams)
    for body in upstreams.values():
        for host, port in re.findall(r"server ([\w.-]+):(\d+)", body):
            assert host in services, f"upstream {host} is not a service"
            target = services[host]
            assert target["command"][:2] == ["lrs", "serve"]
            assert target["environment"]["LRS_PORT"] == port
            assert port in [str(p) for p in target["expose"]]
    listen = re.findall(r"listen (\d+);", config)
    assert [p.split(":")[-1] for p in services[proxy]["ports"]] == listen
    assert services[proxy]["depends_on"].keys() >= {"lrs"}


def test_the_replica_set_is_the_one_initiated_and_named_in_every_uri(services):
    mongo = services["mongo"]
    name = mongo["command"][mongo["command"].index("--replSet") + 1]
    assert "host: 'mongo:27017'" in " ".join(health_command(mongo))
    assert f"_id: '{name}'" in " ".join(health_command(mongo))
    uris = [
        s["environment"]["LRS_MONGODB_URI"]
        for s in services.values()
        if s.get("environment") and "LRS_MONGODB_URI" in s["environment"]
    ]
    assert len(uris) >= 2
    assert all(
        uri.startswith("mongodb://mongo:27017/") and f"replicaSet={name}" in uri for uri in uris
    )


def test_secrets_come_from_the_environment_and_required_ones_say_so(services):
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            if "SECRET" in variable or variable.endswith("_KEY"):
                assert str(value).startswith("${"), f"{name}: {variable} is written in the file"
    api = next(s for s in services.values() if s.get("command", [])[:2] == ["lrs", "serve"])
    for variable in REQUIRED_SECRETS:
        assert re.fullmatch(rf"\$\{{{variable}:\?.+\}}", api["environment"][variable])


def test_the_api_and_the_workers_share_their_database_and_secrets_key(services):
    ours = [
        s
        for s in services.values()
        if s.get("command", [])[:2] in (["lrs", "serve"], ["lrs", "forwarders"])
    ]
    for variable in ("LRS_MONGODB_URI", "LRS_DATABASE", "LRS_FORWARDER_SECRETS_KEY"):
        assert len({s["environment"][variable] for s in ours}) == 1, variable
    api = next(s for s in ours if s["command"] == ["lrs", "serve"])
    assert api["environment"]["LRS_FORWARDER_IN_PROCESS"] == "false"  # the worker service does it


def test_every_lrs_variable_set_is_one_the_source_reads(services):
    known = setting_names()
    for name, service in services.items():
        unknown = [
            v for v in service.get("environment") or {} if v.startswith("LRS_") and v not in known
        ]
        assert unknown == [], name
