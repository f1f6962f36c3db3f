"""The fields export columns read, decoded from a statement's JSON without the rest of it.

Parsing a whole statement builds every dict, list and string in it (orjson: 7.8 us per
bench statement, one thread); a CSV export reads a dozen of them, a Parquet export some
twenty (its `statement` column is the JSON text as stored, never parsed). `FieldPicker` builds a
msgspec `Struct` type from the columns' paths, one struct per object on the way (`actor`,
`actor.account`, `result.score`...), and msgspec decodes into it, skipping every other
field unbuilt (2.7 us). A column's own value is decoded whole (`Any`): text, a number, or
an object or array as dicts and lists, which deeper columns then walk as `Walk` does.

Same values as `orjson.loads` then `columns.lookup`, with two differences handled here:
a statement where a path meets something that is not an object (`"actor": "x"`, a number
where `result.score` is read) fails the struct type, and is parsed whole with orjson and
put into the struct by `lookup`'s rules; an integer beyond 64 bits, which orjson reads as
a float and msgspec as an int, is formatted as orjson's float (`columns.cell`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec
import orjson

from exports.columns import Walk


@dataclass(slots=True)
class Node:
    """A step of the columns' paths: the keys below it, or `whole` where a column ends."""

    children: dict[str, Node] = field(default_factory=dict)
    whole: bool = False


def paths_tree(paths: Iterable[tuple[str, ...]]) -> Node:
    root = Node()
    for path in paths:
        node = root
        for key in path:
            node = node.children.setdefault(key, Node())
        node.whole = True
    return root


Layout = list[tuple[str, str, Node, "type[msgspec.Struct] | None"]]
"""A struct's fields: attribute, JSON key, the node, and the field's own struct if any."""


class FieldPicker:
    """Decodes statements into structs holding only the values at `paths` (and the objects
    on the way to them), walked by `walk` as `Walk` walks parsed statements."""

    def __init__(self, paths: Iterable[tuple[str, ...]]) -> None:
        self._attributes: dict[tuple[str, ...], str] = {}
        self._layouts: dict[type[msgspec.Struct], Layout] = {}
        self._type = self._struct(paths_tree(paths), ())
        self._decoder = msgspec.json.Decoder(self._type)

    def _struct(self, node: Node, path: tuple[str, ...]) -> type[msgspec.Struct]:
        """The struct for an object met on the way: a field per key below it, named `f<n>`
        (a JSON key need not be an identifier), `Any` where a column ends, and a struct or
        null where the path goes on."""
        layout: Layout = []
        for key, child in node.children.items():
            attribute = f"f{len(self._attributes)}"
            self._attributes[(*path, key)] = attribute
            inner = None if child.whole else self._struct(child, (*path, key))
            layout.append((attribute, key, child, inner))
        kind = msgspec.defstruct(
            "Picked",
            [(a, Any if inner is None else inner | None, None) for a, _, _, inner in layout],
            rename={attribute: key for attribute, key, _, _ in layout},
            gc=False,
        )
        self._layouts[kind] = layout
        return kind

    def decode(self, raws: Sequence[str]) -> list[Any]:
        decode = self._decoder.decode
        picked = []
        for raw in raws:
            try:
                picked.append(decode(raw))
            except msgspec.ValidationError:
                picked.append(self._from_parsed(orjson.loads(raw), self._type))
        return picked

    def _from_parsed(self, value: Any, kind: type[msgspec.Struct]) -> Any:
        """A struct from a parsed object, by `lookup`'s rules: a step into something that
        is not an object gives None."""
        if type(value) is not dict:
            return None
        return kind(
            **{
                attribute: value.get(key)
                if inner is None
                else self._from_parsed(value.get(key), inner)
                for attribute, key, _, inner in self._layouts[kind]
            }
        )

    def walk(self, picked: Sequence[Any]) -> Walk:
        return PickedWalk(picked, self._attributes)


class PickedWalk(Walk):
    """`Walk` over picked structs: a step to a key the structs hold reads its attribute;
    below a column's own value (dicts and lists) it steps as `Walk` does."""

    def __init__(self, picked: Sequence[Any], attributes: dict[tuple[str, ...], str]) -> None:
        super().__init__(picked)
        self._attributes = attributes

    def step(self, parents: list[Any], path: tuple[str, ...]) -> list[Any]:
        attribute = self._attributes.get(path)
        if attribute is None:
            return super().step(parents, path)
        try:
            return list(map(attrgetter(attribute), parents))
        except AttributeError:  # a None on the way: the object was absent or null
            return [getattr(p, attribute) if p is not None else None for p in parents]
