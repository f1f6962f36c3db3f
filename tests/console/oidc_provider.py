"""A stand-in OpenID Connect provider over real HTTP on loopback: discovery, JWKS, an
authorization endpoint that approves at once (redirecting back with a code), and a token
endpoint that checks the client, the redirect URI and the PKCE verifier before it answers
with a signed ID token carrying the nonce it was given."""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "lrs-console"
CLIENT_SECRET = "console-client-secret"


@dataclass
class Grant:
    redirect_uri: str
    challenge: str
    nonce: str


@dataclass
class Provider:
    key: rsa.RSAPrivateKey
    claims: dict[str, Any] = field(default_factory=dict)
    """Extra or overriding ID token claims (per test)."""
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens_issued: int = 0
    issuer: str = ""

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": "console-kid", "use": "sig"}]}

    def authorize(self, query: dict[str, str]) -> str:
        """The approving redirect back to the client, with a fresh code."""
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(query["redirect_uri"], query["code_challenge"], query["nonce"])
        back = urlencode({"code": code, "state": query["state"]})
        return f"{query['redirect_uri']}?{back}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "ops-7",
            "name": "Olive Ops",
            "nonce": grant.nonce,
            "iat": now,
            "exp": now + 300,
            "scope": "lrs.ops",
            **self.claims,
        }
        self.tokens_issued += 1
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "console-kid"})
        return 200, {"id_token": token, "token_type": "Bearer", "access_token": "unused"}


def serve(provider: Provider) -> Iterator[Provider]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", provider.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            documents = {
                "/.well-known/openid-configuration": {
                    "issuer": provider.issuer,
                    "jwks_uri": provider.issuer + "/jwks",
                    "authorization_endpoint": provider.issuer + "/authorize",
                    "token_endpoint": provider.issuer + "/token",
                },
                "/jwks": provider.jwks(),
            }
            self._json(200 if parts.path in documents else 404, documents.get(parts.path, {}))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = provider.token(form, self.headers.get("Authorization", ""))
            self._json(status, body)

        def _json(self, status: int, body: Any) -> None:
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
