"""The `keys` array of a stored statement: every value a query can filter on, prefixed.

    *            every statement (unfiltered queries)
    v:<verb>     a:<agent> (actor/object)   A:<agent> (anywhere else related_agents reaches)
    t:<activity> (object)   T:<activity> (anywhere else related_activities reaches)
    r:<registration>   u:<authority>   s:<id of the statement its StatementRef targets>
    h:<sha2>     an attachment content the statement carries (so erasure and retention find
                 the statements still referencing a content through the index, never a scan)
    va:<verb> <agent>   ta:<activity> <agent>   vt:<verb> <activity>
                 pairs of the plain filters, so that a query on two of them reads only its own
                 matches: through `a:` alone, agent+verb would read every statement of the
                 agent to find the few with that verb (measured: 40 reads, 4.6 s at p50 for
                 verb+activity on 120,000 statements). The first value is an IRI, which holds
                 no space, so the first space separates the two unambiguously.

A value already stored under `a:` is not stored again under `A:` (nor a `t:` one under
`T:`): a related query asks for both keys (`alternatives`). Each index entry costs the
embedded database about as much as the rest of the insert shares out per key (measured:
one batch of 100 spends half its database time writing index entries), and the actor and
the object activity are in every statement, so this saves two entries per statement.
Statements stored before carry both; a related query finds them through either.

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


PAIR_PREFIXES = ("va:", "ta:", "vt:")
KEYS_VERSION = 2
"""Bumped when the keys a statement carries change; `lrs.storage.rekey` brings a store up."""


RELATED = {"A:": "a:", "T:": "t:"}
"""A related key and the plain key whose values it does not repeat."""


def filter_keys(index: StatementIndex) -> list[str]:
    """The keys a statement matches through its own (and its targets') filter values."""
    keys: list[str] = []
    for attribute, prefix in FILTER_PREFIXES.items():
        keys.extend(prefix + value for value in getattr(index, attribute))
    plain = set(keys)
    keys = [k for k in keys if k[:2] not in RELATED or RELATED[k[:2]] + k[2:] not in plain]
    return keys + pair_keys(index)


def alternatives(key: str) -> tuple[str, ...]:
    """The stored keys that satisfy a required query key: a related key is also satisfied
    by the plain key of the same value (see the module docstring)."""
    plain = RELATED.get(key[:2])
    return (key,) if plain is None else (key, plain + key[2:])


def pair_keys(index: StatementIndex) -> list[str]:
    """Every (verb, agent), (activity, agent) and (verb, activity) pair of the plain filters.

    Of the union of values when the statement targets another (StatementRef): each filter
    matches through either statement, so a pair does too."""
    keys = [verb_agent(v, a) for v in index.verbs for a in index.agents]
    keys += [activity_agent(t, a) for t in index.activities for a in index.agents]
    keys += [verb_activity(v, t) for v in index.verbs for t in index.activities]
    return keys


def verb_agent(verb: str, agent: str) -> str:
    return f"va:{verb} {agent}"


def activity_agent(activity: str, agent: str) -> str:
    return f"ta:{activity} {agent}"


def verb_activity(verb: str, activity: str) -> str:
    return f"vt:{verb} {activity}"


def index_from_keys(keys: Iterable[str]) -> StatementIndex:
    """Rebuild the filter part of an index from stored keys (for StatementRef inheritance)."""
    values: dict[str, list[str]] = {attribute: [] for attribute in FILTER_PREFIXES}
    by_prefix = {prefix: attribute for attribute, prefix in FILTER_PREFIXES.items()}
    for key in keys:
        attribute = by_prefix.get(key[:2])
        if attribute is not None:
            values[attribute].append(key[2:])
    for related, plain in (("related_agents", "agents"), ("related_activities", "activities")):
        values[related] = list(dict.fromkeys([*values[plain], *values[related]]))
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


def query_keys(
    query: StatementQuery, authority_key: str | None, *, pairs: bool = True
) -> list[str]:
    """Keys a result must carry, the most selective first (its index bounds come first).

    Two plain filters among agent, activity and verb are asked for as their pair key; a
    third is checked on the statements that pair reads. `pairs=False` while stored
    statements are being given their pairs (`lrs.storage.rekey`)."""
    pair, paired = _pair(query) if pairs else (None, frozenset[str]())
    keys: list[str] = []
    if query.registration is not None:
        keys.append("r:" + query.registration)
    if pair is not None:
        keys.append(pair)
    if query.agent is not None and "agent" not in paired:
        keys.append(("A:" if query.related_agents else "a:") + query.agent)
    if query.activity is not None and "activity" not in paired:
        keys.append(("T:" if query.related_activities else "t:") + query.activity)
    if query.verb is not None and "verb" not in paired:
        keys.append("v:" + query.verb)
    if authority_key is not None:
        keys.append(authority(authority_key))
    return keys or [ALL]


def _pair(query: StatementQuery) -> tuple[str | None, frozenset[str]]:
    """The most selective pair of the query's plain filters (agent+activity, agent+verb,
    then verb+activity) and the two filters it covers."""
    agent = query.agent if not query.related_agents else None
    activity = query.activity if not query.related_activities else None
    if agent is not None and activity is not None:
        return activity_agent(activity, agent), frozenset({"agent", "activity"})
    if agent is not None and query.verb is not None:
        return verb_agent(query.verb, agent), frozenset({"agent", "verb"})
    if activity is not None and query.verb is not None:
        return verb_activity(query.verb, activity), frozenset({"activity", "verb"})
    return None, frozenset()


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
    kept = [
        renamed.get(key, key)
        for key in old
        if key[:2] not in replaced and not key.startswith(PAIR_PREFIXES)
    ]
    merged = [*kept, *filter_keys(index), *(attachment(sha2) for sha2 in attachments)]
    return list(dict.fromkeys(merged))
