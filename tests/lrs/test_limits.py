"""Per-credential rate limits (429 with Retry-After) and body/batch limits (413)."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
import pytest

from lrs.http.ratelimit import RateLimiter, TokenBucket, retry_after_seconds
from lrs.settings import Settings, SettingsError
from tests.lrs.custom_app import running_app

# -- the bucket, on an explicit clock -------------------------------------------------------


def test_a_full_bucket_allows_a_burst_then_refuses():
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3.0, updated=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)  # one token at 2/s


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst():
    bucket = TokenBucket(rate=2.0, burst=3, tokens=0.0, updated=0.0)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token back, half to go
    assert bucket.take(0.5) == 0.0
    assert bucket.take(1000.0) == 0.0
    assert bucket.tokens == pytest.approx(2.0)  # refilled to 3, not to 2000, minus one


def test_a_clock_going_backwards_adds_nothing():
    bucket = TokenBucket(rate=1.0, burst=1, tokens=0.0, updated=10.0)
    assert bucket.take(5.0) == pytest.approx(1.0)


def test_each_key_has_its_own_bucket():
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.check("a", 0.0) == 0.0
    assert limiter.check("a", 0.0) == pytest.approx(1.0)
    assert limiter.check("b", 0.0) == 0.0


def test_full_buckets_are_forgotten_when_the_table_is_full():
    limiter = RateLimiter(rate=1.0, burst=1, max_buckets=2)
    limiter.check("a", 0.0)
    limiter.check("b", 0.5)
    limiter.check("c", 1.2)  # "a" has refilled (full: forgettable), "b" has not
    assert set(limiter.buckets) == {"b", "c"}
    assert limiter.check("b", 1.2) == pytest.approx(0.3)  # b's debt is remembered


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [retry_after_seconds(w) for w in (0.01, 1.0, 1.2, 7.9)] == [1, 1, 2, 8]


def test_rate_limit_settings():
    assert Settings.from_env({}).rate_limit_per_second == 0.0  # off by default
    tuned = Settings.from_env({"LRS_RATE_LIMIT_PER_SECOND": "2.5"})
    assert (tuned.rate_limit_per_second, tuned.effective_rate_limit_burst) == (2.5, 3)
    both = Settings.from_env({"LRS_RATE_LIMIT_PER_SECOND": "10", "LRS_RATE_LIMIT_BURST": "50"})
    assert both.effective_rate_limit_burst == 50
    with pytest.raises(SettingsError, match="LRS_RATE_LIMIT_PER_SECOND"):
        Settings.from_env({"LRS_RATE_LIMIT_PER_SECOND": "-1"})


# -- through the app ------------------------------------------------------------------------


async def test_a_credential_over_its_rate_gets_429_with_retry_after(mongo_server, settings):
    # 0.01/s: the bucket cannot refill during the test, so no timing is involved
    async with running_app(
        mongo_server, settings, rate_limit_per_second=0.01, rate_limit_burst=3
    ) as lrs:
        noisy, quiet = await lrs.credential("all", name="noisy"), await lrs.credential("all")
        async with lrs.client() as http:
            answers = [await http.get("/xapi/statements", headers=noisy) for _ in range(4)]
            other = await http.get("/xapi/statements", headers=quiet)
            about = await http.get("/xapi/about")
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 100
    body = refused.json()
    assert body["error"] == "too_many_requests"
    assert body["details"]["retry_after"] == int(refused.headers["Retry-After"])
    assert refused.headers["X-Experience-API-Version"] == "2.0.0"
    assert other.status_code == 200  # buckets are per credential
    assert about.status_code == 200  # unauthenticated resources are not limited


async def test_rate_limit_is_off_by_default(client):
    statuses = {(await client.get("/xapi/statements")).status_code for _ in range(30)}
    assert statuses == {200}


# -- 413 ------------------------------------------------------------------------------------


async def test_a_streamed_body_over_the_limit_is_413_and_stores_nothing(
    mongo_server, settings, make_statement
):
    async with running_app(mongo_server, settings, max_body_bytes=4096) as lrs:
        auth = await lrs.credential("all")

        async def chunks():  # no Content-Length: the limit is enforced while reading
            body = orjson.dumps(make_statement(result={"response": "x" * 8000}))
            for i in range(0, len(body), 1000):
                yield body[i : i + 1000]

        async with lrs.client(auth) as http:
            response = await http.post(
                "/xapi/statements", content=chunks(), headers={"Content-Type": "application/json"}
            )
            stored = (await http.get("/xapi/statements")).json()["statements"]
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert response.json()["details"] == {"limit": 4096}
    assert stored == []


async def test_an_alternate_syntax_body_over_the_limit_is_413(mongo_server, settings):
    async with running_app(mongo_server, settings, max_body_bytes=2048) as lrs:
        auth = await lrs.credential("all")
        form = {**auth, "X-Experience-API-Version": "1.0.3", "content": "x" * 4000}
        async with lrs.client() as http:
            response = await http.post(
                "/xapi/statements?method=PUT",
                content=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
    assert response.status_code == 413


async def test_a_batch_over_the_limit_is_413_naming_the_limit_and_stores_nothing(
    mongo_server, settings, make_statement
):
    async with running_app(mongo_server, settings, max_batch_statements=3) as lrs:
        auth = await lrs.credential("all")
        async with lrs.client(auth) as http:
            response = await http.post("/xapi/statements", json=[make_statement()] * 4)
            exact = await http.post("/xapi/statements", json=[make_statement()] * 3)
            stored = (await http.get("/xapi/statements")).json()["statements"]
    assert response.status_code == 413
    assert response.json()["details"] == {"limit": 3, "received": 4}
    assert exact.status_code == 200
    assert len(stored) == 3
