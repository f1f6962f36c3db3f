"""Auth settings are validated at start-up; the CLI's credential changes are audited."""

from __future__ import annotations

import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pymongo import MongoClient

from lrs.auth.config import AuthSettings
from lrs.auth.jwt import load_signing_key
from lrs.cli.main import main
from lrs.settings import SettingsError


def test_token_settings_are_read_from_the_environment(tmp_path):
    parsed = AuthSettings.from_env(
        {
            "LRS_TOKEN_SECRET": "s" * 32,
            "LRS_TOKEN_LIFETIME_SECONDS": "120",
            "LRS_AUTH_FAILURES_PER_KEY": "5",
            "LRS_OIDC_SCOPE_MAP": '{"read": "statements/read"}',
        }
    )
    assert parsed.tokens_enabled and parsed.token_lifetime_seconds == 120
    assert parsed.failures_per_key == 5
    assert dict(parsed.oidc_scope_map or {}) == {"read": ("statements/read",)}
    assert "s" * 32 not in repr(parsed)
    assert not AuthSettings.from_env({}).tokens_enabled


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LRS_TOKEN_SECRET": "short"}, "at least 32"),
        ({"LRS_TOKEN_SECRET": "s" * 32, "LRS_TOKEN_PRIVATE_KEY_FILE": "/k.pem"}, "not both"),
        ({"LRS_TOKEN_LIFETIME_SECONDS": "0"}, ">= 1"),
        ({"LRS_TOKEN_LIFETIME_SECONDS": "100000"}, "one day"),
        ({"LRS_JWT_LEEWAY_SECONDS": "3600"}, "<= 300"),
        ({"LRS_OIDC_SCOPE_MAP": "[1]"}, "JSON object"),
    ],
)
def test_bad_auth_settings_are_refused(environ, message):
    with pytest.raises(SettingsError, match=message):
        AuthSettings.from_env(environ)


def test_unusable_key_files_are_refused(tmp_path):
    missing = AuthSettings(token_private_key_file=tmp_path / "missing.pem")
    with pytest.raises(SettingsError, match="cannot read"):
        load_signing_key(missing)
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SettingsError, match="PEM"):
        load_signing_key(AuthSettings(token_private_key_file=tmp_path / "junk.pem"))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
    (tmp_path / "weak.pem").write_bytes(
        weak.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SettingsError, match="2048"):
        load_signing_key(AuthSettings(token_private_key_file=tmp_path / "weak.pem"))


def test_cli_credential_create_and_revoke_are_audited(mongo_server, monkeypatch, tmp_path, capsys):
    database = f"t{uuid.uuid4().hex}"
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", database)
    monkeypatch.setenv("LRS_DATA_DIR", str(tmp_path))

    assert main(["credentials", "create", "--name", "lms", "--scopes", "statements/write"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main(["credentials", "revoke", created["key"]]) == 0

    with MongoClient(mongo_server.uri) as client:
        entries = list(client[database]["audit_log"].find({}, {"_id": 0, "at": 0}).sort("_id", 1))
        client.drop_database(database)
    assert [(e["actor"], e["action"], e["target"], e["source"]) for e in entries] == [
        ("cli", "credential.created", created["key"], "cli"),
        ("cli", "credential.revoked", created["key"], "cli"),
    ]
    assert created["secret"] not in str(entries)
