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
WEIGHT = 4096
"""What is kept, in answers or rollup documents (a window's documents weigh one each); the
least recently used go first. A series page is about 30 kB as JSON, a month document about
6 kB as BSON: some tens of megabytes at most."""


class Memo:
    def __init__(self, limit: int = WEIGHT) -> None:
        self.limit = limit
        self.version: Version | None = None
        self._answers: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._weight = 0

    def get(self, version: Version, key: Hashable) -> Any | None:
        """The answer kept for `key` under `version`, None if there is none (a new version
        drops every answer of the old one)."""
        if version != self.version:
            self.version = version
            self._answers.clear()
            self._weight = 0
            return None
        found = self._answers.get(key)
        if found is None:
            return None
        self._answers.move_to_end(key)
        return found[0]

    def put(self, version: Version, key: Hashable, answer: Any, weight: int = 1) -> None:
        """Keep `answer`, computed from documents read after `version` was read."""
        if version != self.version or key in self._answers:
            return  # a newer version was seen meanwhile: the answer may be older than it
        self._answers[key] = (answer, weight)
        self._weight += weight
        while self._weight > self.limit and len(self._answers) > 1:
            _, (_, dropped) = self._answers.popitem(last=False)
            self._weight -= dropped

    def __len__(self) -> int:
        return len(self._answers)
