"""Which statements count, decided from the stored sequence alone (pure).

After the consumer has applied every statement with `seq < C`, the rollups hold exactly the
statements with `seq < C` that carry a contribution and that no voiding statement with
`seq < C` voids. Incrementally, in sequence order:

- a statement adds its contribution unless a voiding statement with a *lower* seq voids it
  (it arrived voided: "voided on arrival");
- a voiding statement takes its target's contribution back when the target has a lower seq
  and it is the target's *first* voider (lowest seq), so a second voiding of the same
  statement takes nothing twice.

Both questions are about seqs below the consumer's horizon, where no write can still land,
so a re-run of the same range decides the same way (what makes a redo after a crash exact).

Only statements the store marks `voided` are voided here, so the rollups agree with what
GET /statements returns. The store sets the flag before the write that voids (the voiding
statement's, or the target's when it arrives second or concurrently) is acknowledged, so
once both are below the horizon the flag is final and set by the time the first voider is
applied: the first voider is the one that takes the contribution back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from analytics.contribution import Delta, contribution_of
from analytics.source import SourceStatement


def batch_delta(
    batch: Sequence[SourceStatement],
    first_voider: Mapping[str, int],
    targets: Mapping[str, SourceStatement],
) -> Delta:
    delta = Delta()
    for s in batch:
        if s.voids is None:
            voider = first_voider.get(s.id)
            if voider is None or voider > s.seq:
                _add(delta, s, +1)
            continue
        target = targets.get(s.voids)
        if (
            target is not None
            and target.voids is None
            and target.voided
            and target.seq < s.seq
            and first_voider.get(target.id) == s.seq
        ):
            _add(delta, target, -1)
    return delta


def counted_delta(
    statements: Iterable[SourceStatement], first_voider: Mapping[str, int], below: int
) -> Delta:
    """The rollups of these statements as of cursor `below` (rebuild, refresh, verify)."""
    delta = Delta()
    for s in statements:
        voider = first_voider.get(s.id)
        if s.seq < below and s.voids is None and (voider is None or voider >= below):
            _add(delta, s, +1)
    return delta


def lookups(batch: Sequence[SourceStatement]) -> tuple[list[str], list[str]]:
    """The ids whose voiders the batch needs, and the targets its voiding statements name.

    A statement not voided when read has no voider below the horizon (the store sets the
    flag before the voiding write is acknowledged), so only voided ones are looked up."""
    targets = [s.voids for s in batch if s.voids is not None]
    return [s.id for s in batch if s.voids is None and s.voided] + targets, targets


def _add(delta: Delta, s: SourceStatement, sign: int) -> None:
    contribution = contribution_of(s.statement, s.verb)
    if contribution is not None:
        delta.add(contribution, sign)
