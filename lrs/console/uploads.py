"""Files uploaded for a preview, kept until the operator applies or abandons them.

An import is previewed, then applied: the browser sends the file once, and the apply form
names it by a random token. The file waits on this host's disk under
`<data dir>/console-uploads/<session digest>/<token>`, so another session cannot apply it
even with the token, and a token is checked against its pattern before it becomes a path.
Uploads older than `KEEP` are removed whenever a new one is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from pathlib import Path

from statements.errors import BadRequest

KEEP_SECONDS = 3600
TOKEN = re.compile(r"[0-9a-f]{32}")


class Uploads:
    def __init__(self, root: Path, session_secret: str) -> None:
        digest = hashlib.sha256(session_secret.encode()).hexdigest()[:32]
        self.root = root
        self.directory = root / digest

    def keep(self, data: bytes) -> str:
        """Store `data`; returns the token the apply form carries."""
        self._tidy()
        self.directory.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        (self.directory / token).write_bytes(data)
        return token

    def take(self, token: str) -> bytes:
        """The upload named by `token`, removed from the disk (an import applies once)."""
        path = self._path(token)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BadRequest(
                "upload: this preview has expired or was applied already; upload the file again",
                {"field": "upload"},
            ) from None
        path.unlink(missing_ok=True)
        return data

    def _path(self, token: str) -> Path:
        if not TOKEN.fullmatch(token):
            raise BadRequest("upload: not a token this console issued", {"field": "upload"})
        return self.directory / token

    def _tidy(self) -> None:
        if not self.root.is_dir():
            return
        oldest = time.time() - KEEP_SECONDS
        for path in self.root.glob("*/*"):
            if path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
