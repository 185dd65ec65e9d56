"""JSON Schemas of the event catalogue, one per event type, as published in ``schemas/events``.

Generated from the pydantic models so they cannot disagree with what the API accepts; a test
fails when the committed files drift from the models.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from routing.episodes.events import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "events"


@cache
def event_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema()
        version = cls.model_fields["schema_version"].default
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:routing:event:{name}:v{version}"
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in event_schemas().items():
        path = directory / f"{name}.json"
        path.write_bytes(render(schema))
        written.append(path)
    return written


def drifted(directory: Path = SCHEMA_DIR) -> list[str]:
    """Event types whose committed schema differs from the models (or is missing/extra)."""
    schemas = event_schemas()
    bad = [
        name
        for name, schema in schemas.items()
        if not (directory / f"{name}.json").exists()
        or (directory / f"{name}.json").read_bytes() != render(schema)
    ]
    extra = [p.stem for p in directory.glob("*.json") if p.stem not in schemas]
    return sorted(bad + extra)
