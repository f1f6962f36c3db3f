"""Failed authentications are limited per key and per address; unknown keys cost the same."""

from __future__ import annotations

import pytest

from lrs.auth.basic import DUMMY_HASH, verify_secret
from lrs.auth.config import AuthSettings
from lrs.auth.credential_store import MongoCredentialStore
from lrs.auth.limiter import FailureLimiter
from statements.errors import TooManyRequests
from tests.conftest import basic
from tests.lrs.auth.conftest import SECRET


def _limits(**overrides) -> AuthSettings:
    defaults = {"failures_per_key": 3, "failures_per_address": 100, "failure_window_seconds": 60}
    return AuthSettings(token_secret=SECRET, **{**defaults, **overrides})


async def _get(http, key: str, secret: str):
    return await http.get("/xapi/statements", headers={"Authorization": basic(key, secret)})


async def test_a_key_with_too_many_failures_gets_429_with_retry_after(start_lrs):
    lrs = await start_lrs(_limits())
    key, secret = await lrs.credential("all")
    for _ in range(3):
        assert (await _get(lrs.http, key, "wrong")).status_code == 401
    locked = await _get(lrs.http, key, secret)  # even the right secret: no oracle
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert locked.json()["error"] == "too_many_requests"
    other, other_secret = await lrs.credential("all")
    assert (await _get(lrs.http, other, other_secret)).status_code == 200


async def test_unknown_keys_are_limited_the_same_way(start_lrs):
    lrs = await start_lrs(_limits())
    statuses = [(await _get(lrs.http, "no-such-key", "x")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


async def test_an_address_with_too_many_failures_is_locked_for_every_key(start_lrs):
    lrs = await start_lrs(_limits(failures_per_key=100, failures_per_address=3))
    key, secret = await lrs.credential("all")
    for n in range(3):
        assert (await _get(lrs.http, f"guess-{n}", "x")).status_code == 401
    assert (await _get(lrs.http, key, secret)).status_code == 429
    async with lrs.client_at("10.1.2.3") as elsewhere:
        assert (await _get(elsewhere, key, secret)).status_code == 200


async def test_token_endpoint_failures_count_towards_the_same_limit(start_lrs):
    lrs = await start_lrs(_limits())
    key, secret = await lrs.credential("all")
    for _ in range(3):
        assert (await lrs.token(key, "wrong")).status_code == 401
    locked = await lrs.token(key, secret)
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert (await _get(lrs.http, key, secret)).status_code == 429


async def test_a_right_secret_clears_the_keys_failures(start_lrs):
    lrs = await start_lrs(_limits())
    key, secret = await lrs.credential("all")
    for _ in range(2):
        await _get(lrs.http, key, "wrong")
    assert (await _get(lrs.http, key, secret)).status_code == 200
    for _ in range(2):
        assert (await _get(lrs.http, key, "wrong")).status_code == 401
    assert (await _get(lrs.http, key, secret)).status_code == 200


async def test_failed_basic_authentication_is_audited_with_key_and_address_never_secret(lrs):
    key, _ = await lrs.credential("all")
    await _get(lrs.http, key, "a-guessed-secret")
    (entry,) = await lrs.services.audit.list(action="auth.failed")
    assert (entry.actor, entry.target, entry.source) == ("anonymous", key, "127.0.0.1")
    assert entry.details["scheme"] == "basic"
    assert "a-guessed-secret" not in str(await lrs.services.audit.collection.find_one({}))


def test_the_window_unlocks_when_the_oldest_failure_leaves_it():
    now = [0.0]
    limiter = FailureLimiter(per_key=2, per_address=10, window=30, clock=lambda: now[0])
    limiter.fail("k", "a")
    now[0] = 10
    limiter.fail("k", "a")
    with pytest.raises(TooManyRequests) as locked:
        limiter.check("k", "a")
    assert locked.value.retry_after == 20
    now[0] = 30.5
    limiter.check("k", "a")  # the first failure left the window


async def test_unknown_and_revoked_keys_run_the_same_scrypt_check(services):
    checked: list[str] = []

    def recording_verify(secret: str, stored: str) -> bool:
        checked.append(stored)
        return verify_secret(secret, stored)

    store = MongoCredentialStore(
        services.credentials.collection.database,
        authority_home="http://lrs.test",
        verify=recording_verify,
    )
    key, secret = await store.create("x", ["all"])

    assert await store.authenticate("no-such-key", "guess") is None
    assert await store.authenticate(key, "wrong") is None
    await store.revoke(key)
    assert await store.authenticate(key, secret) is None

    assert checked[0] == DUMMY_HASH
    assert checked[1].startswith("scrypt$") and checked[1] != DUMMY_HASH
    assert checked[2] == DUMMY_HASH
    assert DUMMY_HASH.split("$")[:4] == checked[1].split("$")[:4]  # same scrypt cost


async def test_an_unknown_key_costs_the_same_scrypt_as_a_real_one_at_any_configured_cost(
    services,
):
    checked: list[str] = []

    def recording_verify(secret: str, stored: str) -> bool:
        checked.append(stored)
        return verify_secret(secret, stored)

    store = MongoCredentialStore(
        services.credentials.collection.database,
        authority_home="http://lrs.test",
        verify=recording_verify,
        hash_cost=2**5,
    )
    key, _ = await store.create("x", ["all"])

    assert await store.authenticate("no-such-key", "guess") is None
    assert await store.authenticate(key, "wrong") is None
    assert checked[0] != DUMMY_HASH
    assert checked[0].split("$")[:4] == checked[1].split("$")[:4] == ["scrypt", "32", "8", "1"]
