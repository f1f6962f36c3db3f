"""Who a console session acts as, worked out again on every request.

A session is what the sign-in proved, and the console honours it only while that still
holds, so a revoked or down-scoped identity loses the console promptly, not 8 hours later:

- A key/secret session acts as its credential as the credential store has it now
  (`MongoCredentialStore.active`: remembered for `ACTIVE_TTL` seconds, forgotten at once by
  a revocation in this process). A revoked credential ends the session; changed scopes
  apply from the next request.
- An OIDC session acts as what its ID token's claims map to now, through the API's own
  verifier (`OIDCVerifier.credential`: `LRS_OIDC_SCOPE_CLAIM`, `LRS_OIDC_SCOPE_MAP`, the
  authority claim), so a narrowed map applies to open sessions at once; claims that no
  longer map to any scope, or to another subject, end the session. The provider's word is
  good for as long as it said: the ID token's `exp` bounds the session
  (`lrs.console.sessions.SessionStore.open`), after which the browser signs in again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from lrs.auth.config import AuthSettings
from lrs.auth.scopes import Credential
from lrs.console.sessions import ConsoleSession

EXPIRED = "expired"
REVOKED = "revoked"
UNGRANTED = "ungranted"
MESSAGES = {
    EXPIRED: "Your console session has ended (it expired or was signed out): sign in again.",
    REVOKED: "You were signed out: the credential of your console session has been revoked.",
    UNGRANTED: (
        "You were signed out: what the identity provider granted no longer maps to any "
        "scope of this LRS. Sign in again."
    ),
}
"""What the sign-in form says after a session ended, by reason (never the reason's text
from a request: only these keys are shown)."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The session may no longer be used; `reason` is a key of MESSAGES."""

    reason: str


class ActiveCredentials(Protocol):
    async def active(self, key: str) -> Credential | None: ...


class ClaimsMapper(Protocol):
    def credential(self, claims: dict[str, Any]) -> Credential: ...


async def session_caller(
    session: ConsoleSession, credentials: ActiveCredentials, oidc: ClaimsMapper | None
) -> Credential | Ended:
    """The caller the session acts as on this request, or why it has ended."""
    if session.identity is None:
        credential = await credentials.active(session.key)
        return Ended(REVOKED) if credential is None else credential
    claims = session.identity.get("claims")
    if oidc is None or not isinstance(claims, dict):
        return Ended(UNGRANTED)  # OIDC is no longer configured, or a session of older code
    try:
        credential = oidc.credential(dict(claims))
    except jwt.PyJWTError:
        return Ended(UNGRANTED)
    if not credential.scopes or credential.key != session.key:
        return Ended(UNGRANTED)
    return credential


def kept_claims(claims: Mapping[str, Any], auth: AuthSettings) -> dict[str, Any]:
    """The ID token claims a session keeps to be mapped again on each request: the scope,
    authority and name claims only (an ID token may carry more about the person)."""
    names = (auth.oidc_scope_claim, auth.oidc_authority_claim, auth.oidc_name_claim)
    return {name: claims[name] for name in names if name in claims}
