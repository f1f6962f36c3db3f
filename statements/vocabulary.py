"""The canonical vocabulary: provider verbs mapped onto a small set of plain words.

Providers say the same thing with different verb IRIs (ADL's `.../verbs/completed`, the
w3id ADL vocabulary's, Activity Streams' `complete`), so analytics and forwarding ask for
`completed` and get all of them. A `Vocabulary` is versioned: the version in force is
stored beside every statement it classified (`Canonical.version`), so a later change of
the registry never silently re-means what was stored under the old one.

Result-aware rules (cmi5, "Verbs" section 9.3): an alias applies only when the statement's
`result` does not contradict the word (`completed` needs `result.completion` true, `passed`
`result.success` true, `failed` `result.success` false). A statement in a strict category
(the cmi5 context category) must carry the field; any other statement only must not carry
a contradicting value, since plain ADL statements often omit `result`. A statement no alias
applies to passes through as its verb IRI.

Pure: the packaged default is read with `importlib.resources`, operators' extensions come
in as parsed JSON from the edges (a file setting, the admin API).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from statements.errors import BadRequest

DEFAULT_FILE = "vocabulary.json"
MAX_ALIASES = 10_000
_MISSING = object()


class InvalidVocabulary(BadRequest):
    error = "invalid_vocabulary"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"vocabulary {field}: {message}", {"field": field, "rule": rule})


@dataclass(frozen=True, slots=True)
class Canonical:
    """What the vocabulary made of one statement (stored beside it, never inside it)."""

    verb: str
    """The canonical word (`completed`), or the verb IRI when no alias applies."""
    object_type: str
    """`Activity`, `Agent`, `Group`, `StatementRef` or `SubStatement`."""
    version: str

    def as_document(self) -> dict[str, str]:
        return {"verb": self.verb, "type": self.object_type, "v": self.version}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    version: str
    aliases: Mapping[str, str]
    """Verb IRI -> canonical word."""
    rules: Mapping[str, tuple[tuple[str, Any], ...]]
    """Canonical word -> (dotted path under the statement, required value) pairs."""
    strict_categories: frozenset[str]
    sources: Mapping[str, str]
    """Verb IRI -> where the alias comes from (shown by the admin API)."""

    def words(self) -> list[str]:
        return sorted(set(self.aliases.values()))

    def as_document(self) -> dict[str, Any]:
        """The registry in the file format (`parse_vocabulary` reads it back)."""
        aliases: dict[str, list[dict[str, str]]] = {}
        for iri, word in sorted(self.aliases.items()):
            aliases.setdefault(word, []).append({"iri": iri, "source": self.sources.get(iri, "")})
        return {
            "version": self.version,
            "canonical": self.words(),
            "aliases": aliases,
            "rules": {w: dict(pairs) for w, pairs in sorted(self.rules.items())},
            "strict_categories": sorted(self.strict_categories),
        }


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The packaged registry (immutable, so read once)."""
    text = resources.files("statements").joinpath("data", DEFAULT_FILE).read_text("utf-8")
    return parse_vocabulary(json.loads(text))


def parse_vocabulary(document: Any) -> Vocabulary:
    """A registry from its JSON form; raises InvalidVocabulary naming the field and rule."""
    if not isinstance(document, dict):
        raise InvalidVocabulary("/", "object", "must be a JSON object")
    version = document.get("version")
    if not isinstance(version, str) or not version.strip():
        raise InvalidVocabulary("version", "required", "must be a non-empty string")
    aliases, sources = _aliases(document.get("aliases", {}))
    return Vocabulary(
        version=version,
        aliases=aliases,
        rules=_rules(document.get("rules", {})),
        strict_categories=frozenset(
            _strings(document.get("strict_categories", []), "strict_categories")
        ),
        sources=sources,
    )


def extend(base: Vocabulary, extension: Vocabulary) -> Vocabulary:
    """The base with an operator's aliases and rules on top (theirs win on a clash).

    The version names both, so what a statement was classified under stays traceable."""
    return Vocabulary(
        version=f"{base.version}+{extension.version}",
        aliases={**base.aliases, **extension.aliases},
        rules={**base.rules, **extension.rules},
        strict_categories=base.strict_categories | extension.strict_categories,
        sources={**base.sources, **extension.sources},
    )


def canonical_verb(statement: Mapping[str, Any], vocabulary: Vocabulary) -> str:
    """The canonical word for the statement's verb, or the verb IRI itself."""
    verb = statement.get("verb")
    iri = verb.get("id") if isinstance(verb, dict) else None
    if not isinstance(iri, str):
        return ""
    word = vocabulary.aliases.get(iri)
    if word is None:
        return iri
    strict = bool(vocabulary.strict_categories.intersection(_categories(statement)))
    if all(
        _holds(statement, path, value, strict) for path, value in vocabulary.rules.get(word, ())
    ):
        return word
    return iri


def object_type(statement: Mapping[str, Any]) -> str:
    obj = statement.get("object")
    kind = obj.get("objectType", "Activity") if isinstance(obj, dict) else "Activity"
    return kind if isinstance(kind, str) else "Activity"


def classify(statement: Mapping[str, Any], vocabulary: Vocabulary) -> Canonical:
    """The derived fields stored beside a statement (for forwarders, rollups and queries)."""
    return Canonical(
        canonical_verb(statement, vocabulary), object_type(statement), vocabulary.version
    )


def _holds(statement: Mapping[str, Any], path: str, wanted: Any, strict: bool) -> bool:
    value: Any = statement
    for part in path.split("."):
        value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
    if value is _MISSING:
        return not strict
    return bool(value == wanted and type(value) is type(wanted))


def _categories(statement: Mapping[str, Any]) -> list[str]:
    context = statement.get("context")
    activities = context.get("contextActivities") if isinstance(context, dict) else None
    category = activities.get("category") if isinstance(activities, dict) else None
    listed = [category] if isinstance(category, dict) else category
    if not isinstance(listed, list):
        return []
    return [a["id"] for a in listed if isinstance(a, dict) and isinstance(a.get("id"), str)]


def _aliases(value: Any) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(value, dict):
        raise InvalidVocabulary("aliases", "object", "must map canonical words to IRI lists")
    aliases: dict[str, str] = {}
    sources: dict[str, str] = {}
    for word, entries in value.items():
        _check_word(word)
        if not isinstance(entries, list):
            raise InvalidVocabulary(f"aliases.{word}", "array", "must be a list of aliases")
        for entry in entries:
            iri, source = _alias(entry, word)
            if aliases.get(iri, word) != word:
                raise InvalidVocabulary(f"aliases.{word}", "unique", f"{iri} maps to two words")
            aliases[iri], sources[iri] = word, source
    if len(aliases) > MAX_ALIASES:
        raise InvalidVocabulary("aliases", "max", f"at most {MAX_ALIASES} aliases")
    return aliases, sources


def _alias(entry: Any, word: str) -> tuple[str, str]:
    if isinstance(entry, str):
        entry = {"iri": entry}
    iri = entry.get("iri") if isinstance(entry, dict) else None
    if not isinstance(iri, str) or ":" not in iri:
        raise InvalidVocabulary(f"aliases.{word}", "iri", "every alias needs an absolute IRI")
    source = entry.get("source", "")
    return iri, source if isinstance(source, str) else ""


def _rules(value: Any) -> dict[str, tuple[tuple[str, Any], ...]]:
    if not isinstance(value, dict):
        raise InvalidVocabulary("rules", "object", "must map canonical words to requirements")
    rules: dict[str, tuple[tuple[str, Any], ...]] = {}
    for word, requirements in value.items():
        _check_word(word)
        if not isinstance(requirements, dict) or not all(
            isinstance(v, bool | str | int | float) for v in requirements.values()
        ):
            raise InvalidVocabulary(f"rules.{word}", "object", "must map paths to plain values")
        rules[word] = tuple(requirements.items())
    return rules


def _check_word(word: str) -> None:
    if not word or ":" in word or "." in word or "$" in word or len(word) > 64:
        raise InvalidVocabulary(
            f"aliases.{word}", "word", "a canonical word is a plain name (no ':', '.', '$')"
        )


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidVocabulary(field, "array", "must be a list of strings")
    return list(value)
