"""A key/secret pair is checked once however many requests present it at the same time."""

from __future__ import annotations

import asyncio

from lrs.auth.basic import verify_secret
from lrs.auth.credential_store import MongoCredentialStore


def _recording_store(services, checked: list[str]) -> MongoCredentialStore:
    def recording_verify(secret: str, stored: str) -> bool:
        checked.append(secret)
        return verify_secret(secret, stored)

    return MongoCredentialStore(
        services.credentials.collection.database,
        authority_home="http://lrs.test",
        verify=recording_verify,
        hash_cost=2**5,
    )


async def test_concurrent_requests_with_one_pair_share_one_scrypt_check(services):
    checked: list[str] = []
    store = _recording_store(services, checked)
    key, secret = await store.create("x", ["all"])

    found = await asyncio.gather(*(store.authenticate(key, secret) for _ in range(16)))

    assert checked == [secret]
    assert {c.key if c else None for c in found} == {key}


async def test_a_wrong_secret_never_shares_the_check_of_the_right_one(services):
    checked: list[str] = []
    store = _recording_store(services, checked)
    key, secret = await store.create("x", ["all"])

    right, wrong, again = await asyncio.gather(
        store.authenticate(key, secret),
        store.authenticate(key, "wrong"),
        store.authenticate(key, secret),
    )

    assert right is not None and again is not None and wrong is None
    assert sorted(checked) == sorted([secret, "wrong"])


async def test_a_request_that_goes_away_does_not_fail_the_others_waiting_on_its_check(services):
    checked: list[str] = []
    store = _recording_store(services, checked)
    key, secret = await store.create("x", ["all"])

    first = asyncio.ensure_future(store.authenticate(key, secret))
    second = asyncio.ensure_future(store.authenticate(key, secret))
    await asyncio.sleep(0)
    first.cancel()

    assert (await second) is not None
    assert checked == [secret]
