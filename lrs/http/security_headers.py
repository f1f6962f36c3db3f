"""Headers that keep a browser from running anything the LRS serves.

Documents (State, Activity Profile, Agent Profile) and attachments come back with the
Content-Type their writer chose, `text/html` and `image/svg+xml` included, from the origin
that also serves `/admin`. A browser must never render them as a page of that origin:

- every answer carries (from `lrs.http.edge`) `X-Content-Type-Options: nosniff` (no
  guessing a type from bytes) and a `Content-Security-Policy` that allows nothing and
  sandboxes the document (a unique origin: no scripts, no forms, no access to the LRS's
  storage), since the LRS serves no HTML but the console's pages, which set their own
  policy first (`lrs.console.security`: the header already set is kept);
- stored bytes (documents, statements with their attachments) also carry
  `Content-Disposition: attachment`, so a navigation to them downloads instead of rendering.
"""

from __future__ import annotations

POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
INERT = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": POLICY}
DOWNLOAD = {"Content-Disposition": "attachment"}
"""For answers whose body is bytes someone stored."""
