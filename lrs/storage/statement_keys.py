"""The `keys` array of a stored statement: every value a query can filter on, prefixed.

    *            every statement (unfiltered queries)
    v:<verb>     a:<agent> (actor/object)   A:<agent> (anywhere related_agents reaches)
    t:<activity> (object)   T:<activity> (anywhere related_activities reaches)
    r:<registration>   u:<authority>   s:<id of the statement its StatementRef targets>
    h:<sha2>     an attachment content the statement carries (so erasure and retention find
                 the statements still referencing a content through the index, never a scan)

Values come from `statements.index.derive_index`; user data only ever becomes an array
*value*, never a field name or an operator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from statements.types import StatementIndex, StatementQuery

ALL = "*"
FILTER_PREFIXES = {
    "verbs": "v:",
    "agents": "a:",
    "related_agents": "A:",
    "activities": "t:",
    "related_activities": "T:",
    "registrations": "r:",
}


def filter_keys(index: StatementIndex) -> list[str]:
    """The keys a statement matches through its own (and its targets') filter values."""
    keys: list[str] = []
    for attribute, prefix in FILTER_PREFIXES.items():
        keys.extend(prefix + value for value in getattr(index, attribute))
    return keys


def index_from_keys(keys: Iterable[str]) -> StatementIndex:
    """Rebuild the filter part of an index from stored keys (for StatementRef inheritance)."""
    values: dict[str, list[str]] = {attribute: [] for attribute in FILTER_PREFIXES}
    by_prefix = {prefix: attribute for attribute, prefix in FILTER_PREFIXES.items()}
    for key in keys:
        attribute = by_prefix.get(key[:2])
        if attribute is not None:
            values[attribute].append(key[2:])
    return StatementIndex(voids=None, **{k: tuple(v) for k, v in values.items()})


def statement_keys(
    index: StatementIndex,
    *,
    authority_key: str | None,
    ref: str | None,
    attachments: Iterable[str] = (),
) -> list[str]:
    keys = [ALL, *filter_keys(index)]
    if authority_key is not None:
        keys.append(authority(authority_key))
    if ref is not None:
        keys.append(targets(ref))
    keys.extend(attachment(sha2) for sha2 in attachments)
    return keys


def authority(key: str) -> str:
    return "u:" + key


def targets(statement_id: str) -> str:
    return "s:" + statement_id


def attachment(sha2: str) -> str:
    return "h:" + sha2


def query_keys(query: StatementQuery, authority_key: str | None) -> list[str]:
    """Keys a result must carry, the most selective first (its index bounds come first)."""
    keys: list[str] = []
    if query.registration is not None:
        keys.append("r:" + query.registration)
    if query.agent is not None:
        keys.append(("A:" if query.related_agents else "a:") + query.agent)
    if query.activity is not None:
        keys.append(("T:" if query.related_activities else "t:") + query.activity)
    if query.verb is not None:
        keys.append("v:" + query.verb)
    if authority_key is not None:
        keys.append(authority(authority_key))
    return keys or [ALL]


def rekeyed(
    old: Iterable[str],
    index: StatementIndex,
    *,
    authorities: Mapping[str, str],
    attachments: Iterable[str] = (),
) -> list[str]:
    """A stored statement's keys after its index changed (erasure): the filter keys come
    from `index` and the attachment keys from `attachments`, authority keys are renamed
    through `authorities` (old agent key -> new), every other key (`*`, `s:`) stays."""
    renamed = {authority(k): authority(v) for k, v in authorities.items()}
    replaced = {*FILTER_PREFIXES.values(), attachment("")}
    kept = [renamed.get(key, key) for key in old if key[:2] not in replaced]
    merged = [*kept, *filter_keys(index), *(attachment(sha2) for sha2 in attachments)]
    return list(dict.fromkeys(merged))
