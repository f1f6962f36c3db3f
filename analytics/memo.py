"""Answers kept in process per version of the rollups, with exact invalidation.

Every write to the rollups is followed by a write of the consumer's state that sets a fresh
version (`Version`, a random token): a range sets it with the cursor once its documents are
written, a refresh (erasure, retention) or a reset once it has rewritten them. So an answer
computed from documents read *after* the version was read is valid for as long as the
state still carries that version: whatever was written meanwhile is either in the answer
already (it then holds more than `through` claims, which is allowed) or comes with a new
version, under which nothing is found. Nothing is invalidated by a guess or a timer.

While statements arrive the version changes with every range (every few seconds), and the
memo mostly saves repeated questions within one; between bursts, when analysts read, every
repeated question is answered from memory without reading a document.

Answers are kept as JSON bytes and decoded per hit (tens of microseconds for a series
page; every caller gets its own copy). Kept decoded, the answers were millions of objects
that Python's collector walks again and again: the slices, which allocate the most, lost
a quarter at p95 beside them. A window's documents (up to a few hundred kB of JSON, a
millisecond to decode) are not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson

Version = str
"""The consumer state's `version` token (`analytics.consumer.Consumer.version`)."""
MAX_BYTES = 24 * 1024 * 1024
"""What is kept, as JSON; the least recently used answers go first (a week series page is
about 30 kB, a summary 2 kB)."""


class Memo:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.version: Version | None = None
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0

    def get(self, version: Version, key: Hashable) -> Any | None:
        """The answer kept for `key` under `version`, None if there is none (a new version
        drops every answer of the old one)."""
        if version != self.version:
            self.version = version
            self._answers.clear()
            self._bytes = 0
            return None
        found = self._answers.get(key)
        if found is None:
            return None
        self._answers.move_to_end(key)
        return orjson.loads(found)

    def put(self, version: Version, key: Hashable, answer: Any) -> None:
        """Keep `answer` (JSON-able), computed from documents read after `version` was read."""
        if version != self.version or key in self._answers:
            return  # a newer version was seen meanwhile: the answer may be older than it
        try:
            kept = orjson.dumps(answer)
        except orjson.JSONEncodeError:  # not JSON (a bigger integer than 64 bits): not kept
            return
        self._answers[key] = kept
        self._bytes += len(kept)
        while self._bytes > self.max_bytes and len(self._answers) > 1:
            _, dropped = self._answers.popitem(last=False)
            self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._answers)
