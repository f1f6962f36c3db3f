"""Answers kept in process per version of the rollups, with exact invalidation.

Every write to the rollups is followed by a write of the consumer's state that sets a fresh
version (`Version`, a random token): a range sets it with the cursor once its documents are
written, a refresh (erasure, retention) or a reset once it has rewritten them. So
an answer computed from documents read *after* the version was read is valid for as long
as the state still carries that version: whatever was written meanwhile is either in the
answer already (it then holds more than `through` claims, which is allowed) or comes with a
new version, under which nothing is found. Nothing is invalidated by a guess or a timer.

While statements arrive the version changes with every range (every few seconds), and the
memo mostly saves repeated questions within one; between bursts, when analysts read, every
repeated question is answered from memory without reading a document.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

Version = str
"""The consumer state's `version` token (`analytics.consumer.Consumer.version`)."""
ANSWERS = 1024
"""Answers kept (the least recently used go first): a series page is about 30 kB decoded,
so at most a few tens of megabytes."""


class Memo:
    def __init__(self, limit: int = ANSWERS) -> None:
        self.limit = limit
        self.version: Version | None = None
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, version: Version, key: Hashable) -> Any | None:
        """The answer kept for `key` under `version`, None if there is none (a new version
        drops every answer of the old one)."""
        if version != self.version:
            self.version = version
            self._answers.clear()
            return None
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
        return found

    def put(self, version: Version, key: Hashable, answer: Any) -> None:
        """Keep `answer`, computed from documents read after `version` was read."""
        if version != self.version:
            return  # a newer version was seen meanwhile: the answer may be older than it
        self._answers[key] = answer
        if len(self._answers) > self.limit:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
