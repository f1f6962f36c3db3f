"""Fixtures for auth beyond Basic: an app built with chosen auth settings, and a real
identity provider (a local HTTP server publishing the JWKS of a test key pair)."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lrs.app import create_app
from lrs.auth.config import AuthSettings
from lrs.services import Services
from tests.conftest import basic

SECRET = "a-test-signing-secret-that-is-long-enough"
ISSUER = "http://lrs.test"


def client_for(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://lrs.test",
        headers={"X-Experience-API-Version": "2.0.0"},
    )


@dataclass
class LRS:
    http: httpx.AsyncClient
    services: Services
    app: Any

    def client_at(self, address: str) -> httpx.AsyncClient:
        """Another client of the same app, calling from `address`."""
        return client_for(self.app, address)

    async def credential(self, *scopes: str, name: str = "client") -> tuple[str, str]:
        return await self.services.credentials.create(name, list(scopes))

    async def token(self, key: str, secret: str, scope: str | None = None) -> httpx.Response:
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        return await self.http.post(
            "/oauth/token", data=form, headers={"Authorization": basic(key, secret)}
        )

    async def bearer(self, *scopes: str, scope: str | None = None) -> dict[str, str]:
        key, secret = await self.credential(*scopes)
        response = await self.token(key, secret, scope)
        assert response.status_code == 200, response.text
        return {"Authorization": "Bearer " + response.json()["access_token"]}


@pytest.fixture
async def start_lrs(mongo_server, settings) -> AsyncIterator[Any]:
    """`await start_lrs(AuthSettings(...))` -> LRS: the real app, lifespan and database."""
    stack = contextlib.AsyncExitStack()
    started: list[Services] = []

    async def start(auth: AuthSettings | None = None) -> LRS:
        app = create_app(settings, mongo_server.uri, auth=auth or AuthSettings(token_secret=SECRET))
        manager = await stack.enter_async_context(LifespanManager(app))
        services: Services = manager._state["services"]
        started.append(services)
        http = await stack.enter_async_context(client_for(manager.app, "127.0.0.1"))
        return LRS(http, services, manager.app)

    yield start
    if started:
        await started[0].client.drop_database(settings.database)
    await stack.aclose()


@pytest.fixture
async def lrs(start_lrs) -> LRS:
    """An LRS signing HS256 tokens with SECRET."""
    return await start_lrs()


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


class IdentityProvider:
    """A real OIDC provider over HTTP: discovery document and JWKS, counting the requests."""

    def __init__(self, keys: list[rsa.RSAPrivateKey]) -> None:
        self.published = {f"kid-{n}": key for n, key in enumerate(keys[:1])}
        self.hits: Counter[str] = Counter()
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.hits[self.path] += 1
                documents = {
                    "/.well-known/openid-configuration": {
                        "issuer": idp.issuer,
                        "jwks_uri": idp.issuer + "/jwks",
                    },
                    "/jwks": idp.jwks(),
                }
                body = orjson.dumps(documents.get(self.path, {}))
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def jwks(self) -> dict[str, Any]:
        keys = [
            {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}
            for kid, key in self.published.items()
        ]
        return {"keys": keys}

    def token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = "kid-0",
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": "lrs-api",
            "sub": "user-42",
            "name": "Grace",
            "iat": now,
            "exp": now + 300,
            "scope": "statements/read statements/write",
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        signing = key if key is not None else self.published[kid]
        return jwt.encode(payload, signing, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def idp(rsa_keys) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(rsa_keys)
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()
    provider.thread.join()


def oidc_settings(idp: IdentityProvider, **overrides: Any) -> AuthSettings:
    return AuthSettings(
        token_secret=SECRET,
        oidc_issuer=idp.issuer,
        oidc_audience="lrs-api",
        **overrides,
    ).validated()
