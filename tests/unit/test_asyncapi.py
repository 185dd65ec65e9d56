"""The committed AsyncAPI document follows the models, and its messages resolve."""

from __future__ import annotations

from typing import Any

from routing.episodes.events import EVENT_TYPES
from routing.messaging import asyncapi


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_committed_document_matches_the_models() -> None:
    assert not asyncapi.drifted(), "run: routing schemas export"


def test_every_event_type_is_published_and_can_be_posted() -> None:
    doc = asyncapi.build()
    channels = doc["channels"]
    assert set(channels["episodeEvents"]["messages"]) == {*EVENT_TYPES, "month_closed"}
    assert set(channels["inbound"]["messages"]) == set(EVENT_TYPES)
    assert "deadLetter" in channels["deadLetter"]["messages"]


def test_every_reference_resolves() -> None:
    doc = asyncapi.build()
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert len(refs) > 3 * len(EVENT_TYPES)
    for ref in refs:
        assert _resolve(doc, ref) is not None, ref


def test_published_data_has_no_envelope_fields() -> None:
    doc = asyncapi.build()
    data = doc["components"]["schemas"]["ContactRequestedData"]
    assert "event_id" not in data["properties"]
    assert "home_region" in data["properties"]
    assert "home_region" in data["required"]


def test_drift_is_detected(tmp_path: Any) -> None:
    stale = tmp_path / "asyncapi.json"
    stale.write_text("{}")
    assert asyncapi.drifted(stale)
