"""`lrs analytics verify`: recount every statement below the consumer's cursor and compare
with the rollup documents (what a crash, a bug or a manual edit would show up as)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.contribution import Delta
from analytics.counting import counted_delta
from analytics.rollups import FIGURES, RollupStore, expected_documents
from analytics.source import SourceStatement, StatementSource

PAGE = 5000
MAX_DIFFERENCES = 100
BOOKKEEPING = ("_id", "upto", "who", "b")
Document = dict[str, Any]


@dataclass
class Verification:
    cursor: int
    statements: int = 0
    documents: int = 0
    differences: list[Document] = field(default_factory=list)
    figures: bool = True
    """Whether the figures were compared (not while some are still to be made)."""

    @property
    def exact(self) -> bool:
        return not self.differences

    def as_dict(self) -> Document:
        return {
            "cursor": self.cursor,
            "statements": self.statements,
            "documents": self.documents,
            "exact": self.exact,
            "figures_compared": self.figures,
            "differences": self.differences,
        }


async def recount(source: StatementSource, below: int) -> tuple[Delta, int]:
    """The rollups as a full recount of the statements with `seq < below` makes them."""
    statements: list[SourceStatement] = []
    low = 0
    while page := await source.slice(low, below, PAGE):
        statements += page
        low = page[-1].seq + 1
    voiders = await source.first_voiders([s.id for s in statements if s.voided])
    return counted_delta(statements, voiders, below), len(statements)


async def verify(
    source: StatementSource, rollups: RollupStore, cursor: int, *, figures: bool = True
) -> Verification:
    """The differences between a recount and the rollups. `figures`: whether the figures
    are all made (`Consumer.version`); while some calendar documents wait for theirs, the
    figures are left out (they are made from the calendar documents, which are compared)."""
    delta, counted = await recount(source, cursor)
    expected = {name: _normalised(docs) for name, docs in expected_documents(delta).items()}
    actual = {name: _normalised(docs) for name, docs in (await rollups.all_documents()).items()}
    if not figures:
        expected.pop(FIGURES, None)
        actual.pop(FIGURES, None)
    report = Verification(cursor, counted, sum(len(d) for d in actual.values()), figures=figures)
    for name in sorted(set(expected) | set(actual)):
        want, have = expected.get(name, {}), actual.get(name, {})
        for doc_id in sorted(set(want) | set(have)):
            if want.get(doc_id) != have.get(doc_id) and len(report.differences) < MAX_DIFFERENCES:
                report.differences.append(
                    {"collection": name, "id": doc_id, "expected": want.get(doc_id),
                     "actual": have.get(doc_id)}
                )  # fmt: skip
    return report


def _normalised(docs: dict[str, Document]) -> dict[str, Document]:
    """Without bookkeeping (`_id`, `upto`, `who`, the identifier of whichever statement
    created the document, and a bucket's number `b`) and zero counts; documents left with
    no count at all are dropped (a voided statement leaves zeros behind)."""
    kept = {}
    for doc_id, doc in docs.items():
        body = _without_zeros({k: v for k, v in doc.items() if k not in BOOKKEEPING})
        if _has_counts(body):
            kept[doc_id] = body
    return kept


def _without_zeros(node: Document) -> Document:
    result: Document = {}
    for key, value in node.items():
        if isinstance(value, dict):
            value = _without_zeros(value)
            if value:
                result[key] = value
        elif not (isinstance(value, int | float) and value == 0):
            result[key] = value
    return result


def _has_counts(node: Document) -> bool:
    return any(
        _has_counts(v) if isinstance(v, dict) else isinstance(v, int | float) for v in node.values()
    )
