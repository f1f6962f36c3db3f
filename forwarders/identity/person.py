"""People (from the HRIS) and the identifier keys that tie an xAPI actor to one of them.

A person is keyed by the HRIS employee id and reachable through identifier keys: one string
per way an actor can name them. Keys are plain strings compared for equality and stored as
array *values* (`{"keys": {"$in": [...]}}`), so user data never becomes a field path or an
operator, whatever characters it holds:

    mbox:<normalised email>                 one per email of the person
    sha1:<hex sha1 of "mailto:" + email>    the same emails, as `mbox_sha1sum` carries them
    account:["<home page>","<name>"]        JSON, so no separator can be forged
    openid:<url>

Emails are normalised the same way on both sides (the HRIS file and the statement): surrounding
whitespace and a `mailto:` prefix removed, lowercased whole (mail systems treat the local part
case-insensitively in practice, whatever RFC 5321 allows), and, for the configured alias
domains only, a `+tag` removed from the local part (`ada+lms@corp.com` -> `ada@corp.com`).
An actor's `mbox_sha1sum` cannot be normalised (it is a hash); it matches when the LMS hashed
the normalised form of one of the person's emails.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

TERMINATED = "terminated"
MAX_EMAIL = 254
MAX_TEXT = 200
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_EMAIL_FORBIDDEN = re.compile(r"[\s<>,;\"()\[\]\\]")


@dataclass(frozen=True, slots=True)
class Person:
    employee_id: str
    email: str | None
    """The primary email, normalised."""
    emails: tuple[str, ...] = ()
    """Other emails, normalised."""
    accounts: tuple[tuple[str, str], ...] = ()
    """(home page, name) pairs."""
    manager_id: str | None = None
    department: str | None = None
    job_code: str | None = None
    status: str = "active"
    """Lowercased; `terminated` means the person left."""

    @property
    def terminated(self) -> bool:
        return self.status == TERMINATED

    def as_dict(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "email": self.email,
            "emails": list(self.emails),
            "accounts": [{"home_page": h, "name": n} for h, n in self.accounts],
            "manager_id": self.manager_id,
            "department": self.department,
            "job_code": self.job_code,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Person:
        return cls(
            employee_id=str(data["employee_id"]),
            email=data.get("email"),
            emails=tuple(data.get("emails") or ()),
            accounts=tuple((a["home_page"], a["name"]) for a in data.get("accounts") or ()),
            manager_id=data.get("manager_id"),
            department=data.get("department"),
            job_code=data.get("job_code"),
            status=str(data.get("status") or "active"),
        )

    def keys(self) -> tuple[str, ...]:
        """Every identifier key of this person, each once."""
        found: list[str] = []
        for email in (*((self.email,) if self.email else ()), *self.emails):
            found += email_keys(email)
        found += [account_key(home, name) for home, name in self.accounts]
        return tuple(dict.fromkeys(found))


# -- normalisation --------------------------------------------------------------------------


def normalise_email(value: str, alias_domains: frozenset[str] = frozenset()) -> str:
    """The comparable form of an email (or `mailto:` IRI); ValueError when it is not one."""
    text = value.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    text = text.lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or "@" in local:
        raise ValueError("must be an email address (local@domain)")
    if len(text) > MAX_EMAIL or _EMAIL_FORBIDDEN.search(text):
        raise ValueError(f"must be an email address of at most {MAX_EMAIL} plain characters")
    if domain in alias_domains and "+" in local:
        local = local.split("+", 1)[0] or local
    return f"{local}@{domain}"


def normalise_home_page(value: str) -> str:
    """An account home page: an absolute http(s) IRL, scheme and host lowercased and a bare
    trailing `/` dropped, so `HTTPS://LMS.example.com/` and `https://lms.example.com` agree."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def parse_alias_domains(raw: str) -> frozenset[str]:
    """`corp.com, Example.org` -> {"corp.com", "example.org"}."""
    return frozenset(d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip())


# -- identifier keys ------------------------------------------------------------------------


def email_keys(email: str) -> list[str]:
    digest = hashlib.sha1(f"mailto:{email}".encode(), usedforsecurity=False).hexdigest()
    return [f"mbox:{email}", f"sha1:{digest}"]


def account_key(home_page: str, name: str) -> str:
    return "account:" + json.dumps([home_page, name], ensure_ascii=False, separators=(",", ":"))


def openid_key(url: str) -> str:
    return "openid:" + url.strip()


def actor_keys(actor: Any, alias_domains: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The identifier keys of an xAPI actor (Agent or identified Group); a malformed
    identifier contributes nothing (so it can never match)."""
    if not isinstance(actor, Mapping):
        return ()
    found: list[str] = []
    mbox = actor.get("mbox")
    if isinstance(mbox, str):
        try:
            found.append(email_keys(normalise_email(mbox, alias_domains))[0])
        except ValueError:
            pass
    sha1 = actor.get("mbox_sha1sum")
    if isinstance(sha1, str) and _HEX40.fullmatch(sha1.strip()):
        found.append("sha1:" + sha1.strip().lower())
    openid = actor.get("openid")
    if isinstance(openid, str) and openid.strip():
        found.append(openid_key(openid))
    found += _account_keys(actor.get("account"))
    return tuple(dict.fromkeys(found))


def _account_keys(account: Any) -> list[str]:
    if not isinstance(account, Mapping):
        return []
    home, name = account.get("homePage"), account.get("name")
    if not (isinstance(home, str) and isinstance(name, str) and name.strip()):
        return []
    try:
        return [account_key(normalise_home_page(home), name.strip())]
    except ValueError:
        return []


def only_keys(values: Iterable[Any]) -> list[str]:
    """The strings among `values`: what may reach a query as identifier keys."""
    return [v for v in values if isinstance(v, str)]
