"""The console's browser protections: its CSP, its cookies and the CSRF check.

The LRS's other answers carry a policy that allows nothing (`lrs.http.security_headers`);
console pages need their own stylesheet and forms, and nothing more: no script runs at all
and no style is inline, so the policy needs no `unsafe-inline`. The session cookie is
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and Secure
whenever the console is reached over HTTPS.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SESSION_COOKIE = "lrs_console"
LOGIN_COOKIE = "lrs_console_login"
"""Holds the sign-in form's CSRF token (double submit): there is no session yet."""
ENDED_COOKIE = "lrs_console_ended"
"""Why the last session ended (a reason key of `lrs.console.callers.MESSAGES`), shown once
by the sign-in form."""
COOKIE_PATH = "/console"


def is_https(request: Request, public_url: str | None) -> bool:
    """Behind a TLS proxy the request itself may arrive as http: the public URL decides too."""
    return request.url.scheme == "https" or (public_url or "").startswith("https://")


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict")


def same_token(expected: str, given: object) -> bool:
    """Whether a form echoed the expected CSRF token (constant time, never on an empty one)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
