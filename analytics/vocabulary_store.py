"""The vocabulary in force: the packaged default, an operator's file (a setting) and an
operator's extension set through the admin API (kept in `analytics_vocabulary` as JSON
text, since rule paths hold dots; every process reads it at most `max_age` seconds late)."""

from __future__ import annotations

import json
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from statements.vocabulary import Vocabulary, default_vocabulary, extend, parse_vocabulary

COLLECTION = "analytics_vocabulary"
EXTENSION = "extension"


class VocabularyRegistry:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        file_extension: Vocabulary | None = None,
        max_age: float = 5.0,
    ) -> None:
        self.collection = db[COLLECTION]
        base = default_vocabulary()
        self.base = extend(base, file_extension) if file_extension else base
        self.max_age = max_age
        self._current = self.base
        self._read_at = float("-inf")

    def current(self) -> Vocabulary:
        return self._current

    async def refresh(self, *, force: bool = False) -> Vocabulary:
        if force or time.monotonic() - self._read_at > self.max_age:
            self._read_at = time.monotonic()
            doc = await self.collection.find_one({"_id": EXTENSION})
            extension = parse_vocabulary(json.loads(doc["json"])) if doc else None
            self._current = extend(self.base, extension) if extension else self.base
        return self._current

    async def put_extension(self, document: Any) -> Vocabulary:
        parse_vocabulary(document)  # refuse (400) before storing anything
        await self.collection.replace_one(
            {"_id": EXTENSION}, {"_id": EXTENSION, "json": json.dumps(document)}, upsert=True
        )
        return await self.refresh(force=True)

    async def delete_extension(self) -> Vocabulary:
        await self.collection.delete_one({"_id": EXTENSION})
        return await self.refresh(force=True)
