"""Every string a client can put in a fact, enumerated from the event models' JSON Schema (not
hand-listed): a new field or fact type is covered the day it is added."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from routing.episodes.events import EVENT_TYPES
from tests import support as f

Path = tuple[str | int, ...]


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _walk(
    schema: dict[str, Any], defs: dict[str, Any], path: Path, seed: dict[Path, Any]
) -> Iterator[tuple[Path, dict[Path, Any]]]:
    """(path of a string, the objects to put on the way: a union branch's discriminator)."""
    schema = _resolve(schema, defs)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for branch in branches:
            b = _resolve(branch, defs)
            extra = dict(seed)
            kind = b.get("properties", {}).get("kind", {}).get("const")
            if kind is not None:  # a tagged union member: build that member
                extra[path] = {"kind": kind}
            yield from _walk(b, defs, path, extra)
        return
    kind = schema.get("type")
    if kind == "string":
        yield path, seed
    elif kind == "array":
        yield from _walk(schema.get("items", {}), defs, (*path, 0), seed)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from _walk(sub, defs, (*path, name), seed)


def string_fields() -> Iterator[tuple[str, Path, dict[Path, Any]]]:
    """(fact type, path, objects to seed) for every string-typed field of every fact type."""
    for fact, model in sorted(EVENT_TYPES.items()):
        for path, seed in model_strings(model):
            yield fact, path, seed


def model_strings(model: type[BaseModel]) -> Iterator[tuple[Path, dict[Path, Any]]]:
    """(path, objects to seed) of every string-typed field of ``model``."""
    schema = model.model_json_schema()
    seen: set[Path] = set()
    for path, seed in _walk(schema, schema.get("$defs", {}), (), {}):
        if path not in seen and path[0] != "type":  # `type` picks the model itself
            seen.add(path)
            yield path, seed


def with_value(
    fact: str | dict[str, Any], path: Path, seed: dict[Path, Any], value: str
) -> dict[str, Any]:
    """A valid body of ``fact`` (tests/support.py; or the body given) with ``value`` at
    ``path``."""
    body: Any = copy.deepcopy(f.FACTORIES[fact]() if isinstance(fact, str) else fact)
    for where, obj in seed.items():
        current = body.get(where[0]) if len(where) == 1 else None
        if not (isinstance(current, dict) and current.get("kind") == obj.get("kind")):
            _set(body, where, dict(obj))
    _set(body, path, value)
    return dict(body)


def _set(body: Any, path: Path, value: Any) -> None:
    node = body
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
        elif not isinstance(node.get(key), dict | list):
            node[key] = [] if isinstance(nxt, int) else {}
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        node[:] = [*node[:last], value, *node[last + 1 :]] if node else [value]
    else:
        node[last] = value


def dotted(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
