"""xAPI authorization scopes (1.0.3 Communication 4.2 / 2.0 "Authorization scope") plus ours.

A credential holds a set of scopes; a resource asks for one of several. `all` implies
everything, `all/read` implies every read. `statements/read/mine` is resolved by the
statement resource itself (it narrows the query to the credential's own authority).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from statements.errors import Forbidden

STATEMENTS_WRITE = "statements/write"
STATEMENTS_READ = "statements/read"
STATEMENTS_READ_MINE = "statements/read/mine"
ALL_READ = "all/read"
ALL = "all"
STATE = "state"
DEFINE = "define"
PROFILE = "profile"
ADMIN = "admin"
METRICS = "metrics"
"""Reading `/metrics` only (for a Prometheus scraper's credential); `admin` also may."""
FEEDS_READ = "feeds/read"
"""The completion feed (GET /feeds/completions). Not an xAPI scope, so `all` does not grant
it: the feed carries HRIS data joined to learning records (employee ids, emails), which a
content tool holding `all` must not read; `admin` reaches it too."""

ANALYTICS_READ = "analytics/read"
"""The aggregate endpoints (/analytics/...). Not an xAPI scope, so `all` does not grant it:
the aggregates join HRIS data; `admin` reaches them too."""

XAPI_SCOPES = (
    STATEMENTS_WRITE,
    STATEMENTS_READ,
    STATEMENTS_READ_MINE,
    ALL_READ,
    ALL,
    STATE,
    DEFINE,
    PROFILE,
)
KNOWN_SCOPES = frozenset((*XAPI_SCOPES, ADMIN, METRICS, FEEDS_READ, ANALYTICS_READ))


@dataclass(frozen=True, slots=True)
class Credential:
    """Who is calling: the key, what it may do, and the authority its statements carry."""

    key: str
    scopes: frozenset[str]
    authority: dict[str, Any] = field(compare=False)
    name: str = ""

    def has_any(self, wanted: Iterable[str]) -> bool:
        return any(scope in self.scopes for scope in wanted)


DEFINING_SCOPES = (DEFINE, ALL)


def may_define(credential: Credential) -> bool:
    """Whether statements written with this credential update the Activities Resource.

    1.0.3 Communication 4.2, `define`: "If storing a Statement when this is not granted, ids
    will be saved [...] but SHOULD NOT update its canonical representation of any Actors or
    Activities".
    """
    return credential.has_any(DEFINING_SCOPES)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - KNOWN_SCOPES)


def require(credential: Credential, *, read: bool, scopes: Iterable[str]) -> None:
    """Raise Forbidden unless the credential has one of `scopes`, `all`, or (reads) `all/read`."""
    wanted = {ALL, *scopes}
    if read:
        wanted.add(ALL_READ)
    if not credential.has_any(wanted):
        raise Forbidden(
            f"credential lacks the scope for this request (one of {sorted(wanted)})",
            {"required_any": sorted(wanted)},
        )


def statement_read_mode(credential: Credential) -> str:
    """'all' when the credential may read every statement, 'mine' for statements/read/mine."""
    if credential.has_any({ALL, ALL_READ, STATEMENTS_READ}):
        return "all"
    if STATEMENTS_READ_MINE in credential.scopes:
        return "mine"
    raise Forbidden(
        "credential lacks the scope to read statements",
        {"required_any": [STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ, ALL]},
    )


def require_admin(credential: Credential) -> None:
    """The LRS's own APIs need `admin` itself: the xAPI `all` scope does not reach them."""
    if ADMIN not in credential.scopes:
        raise Forbidden("this API needs the admin scope", {"required_any": [ADMIN]})


def require_feeds(credential: Credential) -> None:
    """The completion feed needs `feeds/read` (or `admin`); xAPI's `all` does not reach it."""
    if not credential.has_any({FEEDS_READ, ADMIN}):
        raise Forbidden(
            "this feed needs the feeds/read scope", {"required_any": [ADMIN, FEEDS_READ]}
        )


def require_analytics(credential: Credential) -> None:
    """The aggregates need `analytics/read` (or `admin`); xAPI's `all` does not reach them."""
    if not credential.has_any({ANALYTICS_READ, ADMIN}):
        raise Forbidden(
            "the aggregates need the analytics/read scope",
            {"required_any": [ADMIN, ANALYTICS_READ]},
        )


READ_SCOPES = frozenset({STATEMENTS_READ, STATEMENTS_READ_MINE, ALL_READ})


def implied(scopes: Iterable[str]) -> frozenset[str]:
    """Every scope a holder of `scopes` may hand on to a token: `all` covers the xAPI scopes,
    `all/read` the read-only ones; `admin` is never implied, only held."""
    held = frozenset(scopes)
    if ALL in held:
        held |= frozenset(XAPI_SCOPES)
    if ALL_READ in held:
        held |= READ_SCOPES
    return held


def narrow(held: Iterable[str], requested: Iterable[str]) -> frozenset[str] | None:
    """`requested` when every one of them is implied by `held`, else None (RFC 6749 §3.3)."""
    wanted = frozenset(requested)
    return wanted if wanted <= implied(held) else None
