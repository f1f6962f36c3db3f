"""The dependency rule of ARCHITECTURE.md, enforced by parsing every module.

`statements` is the pure domain: it imports nothing of ours and no I/O library.
`forwarders` imports nothing from `lrs`: it declares what it needs (a statement source, its
settings) and takes a database handle; `lrs` implements and wires it.
`connectors` import neither `lrs` nor an HTTP library: `lrs` wires them in.
`analytics` declares what it needs of the statement store (`analytics.source`); `lrs` wires it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "statements": ("lrs", "forwarders", "pymongo", "starlette", "httpx", "uvicorn", "bson"),
    "forwarders": ("lrs", "starlette"),
    # connectors declare what they need (StatementSink); lrs wires them in
    "connectors": ("lrs", "starlette", "httpx", "uvicorn"),
    # storage holds records, auth decides who may do what: neither reads the other
    "lrs.storage": ("lrs.auth",),
    "lrs.auth": ("lrs.storage",),
    "exports": ("lrs.resources", "lrs.app", "lrs.cli", "starlette", "httpx"),
    "analytics": ("lrs", "forwarders", "starlette", "httpx"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_of(package: str) -> list[Path]:
    return sorted(ROOT.joinpath(*package.split(".")).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_dependency_rule(package):
    offenders = []
    for path in modules_of(package):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_the_rule_detects_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from pymongo import MongoClient\nimport lrs.app\n")
    assert imported_modules(module) == {"pymongo", "lrs.app"}
