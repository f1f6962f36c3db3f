"""Presence from join/leave events: pair them into intervals and merge overlaps.

A participant on two devices, or one who drops and rejoins, is counted once for any moment
they were present. A join without a leave closes at the meeting's end; a leave without a
join opens at the last join seen (two devices joining in the same second arrive as one
event), or at the meeting's start when there was none (the join was lost or came before
the connector existed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

Interval = tuple[datetime, datetime]


def pair(moves: Iterable[tuple[datetime, str]], start: datetime, end: datetime) -> list[Interval]:
    """`moves` are (instant, "joined" | "left"); open joins are matched first in, first out."""
    opened: list[datetime] = []
    intervals: list[Interval] = []
    last_join = start
    for at, kind in sorted(moves, key=lambda move: (move[0], move[1] != "joined")):
        if kind == "joined":
            opened.append(at)
            last_join = at
        else:
            intervals.append((opened.pop(0) if opened else last_join, at))
    intervals.extend((at, max(at, end)) for at in opened)
    return intervals


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def seconds(intervals: Iterable[Interval]) -> int:
    return int(sum((finish - begin).total_seconds() for begin, finish in merge(intervals)))
