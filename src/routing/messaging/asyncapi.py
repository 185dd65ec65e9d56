"""AsyncAPI 3.0 document of every topic and message, generated from the event models.

Committed as ``schemas/asyncapi.json``; ``routing schemas check`` and a test fail when it
drifts from the models, the same way as the per-event JSON Schemas.
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from routing.config import Settings
from routing.episodes.events import EVENT_TYPES, EpisodeEvent
from routing.episodes.schemas import SCHEMA_DIR, render
from routing.messaging.envelope import CONTENT_TYPE, TYPE_PREFIX, CloudEvent

REF = "#/components/schemas/{model}"


def _camel(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.split("_"))


def _data_schema(event_schema: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent ``data``: the event without its envelope fields."""
    data = deepcopy(event_schema)
    data["properties"] = {
        k: v for k, v in data["properties"].items() if k not in EpisodeEvent.ENVELOPE
    }
    data["required"] = [r for r in data.get("required", []) if r not in EpisodeEvent.ENVELOPE]
    data["title"] = f"{data.get('title', '')}Data"
    return data


def build(settings: Settings | None = None) -> dict[str, Any]:
    s = settings or Settings.model_construct()  # defaults only: the document must not vary
    classes: list[type[BaseModel]] = [*EVENT_TYPES.values(), CloudEvent]
    mode: JsonSchemaMode = "validation"
    models = [(cls, mode) for cls in classes]
    keyed, defs = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    published: dict[str, Any] = {}
    posted: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, cls in sorted(EVENT_TYPES.items()):
        name = cls.__name__
        schemas[f"{name}Data"] = _data_schema(schemas[name])
        schemas[f"{name}CloudEvent"] = {
            "allOf": [
                {"$ref": REF.format(model="CloudEvent")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": TYPE_PREFIX + event_type},
                        "data": {"$ref": REF.format(model=f"{name}Data")},
                    },
                },
            ]
        }
        key_binding = {"kafka": {"key": {"type": "string", "format": "uuid"}}}
        messages[f"{name}Published"] = {
            "name": f"{event_type}.published",
            "title": f"{name} (stored fact)",
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": REF.format(model=f"{name}CloudEvent")},
            "bindings": key_binding,
        }
        messages[f"{name}Posted"] = {
            "name": f"{event_type}.posted",
            "title": f"{name} (posted by a front-end)",
            "contentType": "application/json",
            "payload": {"$ref": REF.format(model=name)},
            "bindings": key_binding,
        }
        published[event_type] = {"$ref": f"#/components/messages/{name}Published"}
        posted[event_type] = {"$ref": f"#/components/messages/{name}Posted"}

    messages["DeadLetter"] = {
        "name": "dead_letter",
        "title": "An inbound message that could not be applied",
        "summary": (
            "The original key, bytes and headers, identity numbers replaced; the dlq-* headers "
            "say why. A record too large for the topic comes as a reference instead "
            "(header dlq-reference: true): a JSON object with reason_code, reason, original "
            "(topic, partition, offset, timestamp), size, sha256, key_sha256 and first_bytes "
            "(redacted). One letter per inbound record and ingest generation."
        ),
        "headers": {
            "type": "object",
            "required": ["dlq-reason-code", "dlq-reason", "dlq-original-topic"],
            "properties": {
                "dlq-reason-code": {
                    "type": "string",
                    "description": (
                        "not_json | validation_error | too_large | a journey rule | event_id_reused"
                    ),
                },
                "dlq-reason": {"type": "string"},
                "dlq-original-topic": {"type": "string"},
                "dlq-original-partition": {"type": "string"},
                "dlq-original-offset": {"type": "string"},
                "dlq-ingest-generation": {
                    "type": "string",
                    "description": "Which inbound log (bumped when the broker lost it).",
                },
                "dlq-reference": {
                    "type": "string",
                    "description": "true: the payload is a reference to an oversized record.",
                },
            },
        },
        "payload": {
            "description": "The original message value (identity numbers replaced), or a "
            "reference to it (dlq-reference)."
        },
    }
    del keyed  # per-model top-level refs are not needed: every message refers by name
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "routing event backbone",
            "version": "1.0.0",
            "description": (
                "Every fact of a care episode, published by the outbox relay from the event "
                "store; facts front-ends may post instead of HTTP; and the dead letters of "
                "those that could not be applied. Keys are episode ids, so one episode's facts "
                "stay in order on one partition."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "development": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "bundled broker",
            },
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "Apache Kafka",
            },
        },
        "channels": {
            "episodeEvents": {
                "address": s.events_topic,
                "description": "Stored facts as CloudEvents 1.0 (structured mode).",
                "messages": published,
                "bindings": {"kafka": {"partitions": s.events_partitions, "replicas": 3}},
            },
            "inbound": {
                "address": s.inbound_topic,
                "description": "Facts produced by front-ends; the same bodies as POST /events.",
                "messages": posted,
                "bindings": {"kafka": {"partitions": s.inbound_partitions, "replicas": 3}},
            },
            "deadLetter": {
                "address": s.dead_letter_topic,
                "messages": {"deadLetter": {"$ref": "#/components/messages/DeadLetter"}},
                "bindings": {"kafka": {"partitions": 1, "replicas": 3}},
            },
        },
        "operations": {
            "publishEpisodeEvents": {
                "action": "send",
                "summary": "The relay publishes every stored fact (acks=all).",
                "channel": {"$ref": "#/channels/episodeEvents"},
            },
            "consumeEpisodeEvents": {
                "action": "receive",
                "summary": "Projection runners, one consumer group per projection.",
                "channel": {"$ref": "#/channels/episodeEvents"},
            },
            "ingestInbound": {
                "action": "receive",
                "summary": "The ingest consumer applies each fact exactly once.",
                "channel": {"$ref": "#/channels/inbound"},
            },
            "sendDeadLetter": {
                "action": "send",
                "channel": {"$ref": "#/channels/deadLetter"},
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }


ASYNCAPI_PATH = SCHEMA_DIR.parent / "asyncapi.json"


def write(path: Path = ASYNCAPI_PATH) -> Path:
    path.write_bytes(render(build()))
    return path


def drifted(path: Path = ASYNCAPI_PATH) -> bool:
    return not path.exists() or path.read_bytes() != render(build())
