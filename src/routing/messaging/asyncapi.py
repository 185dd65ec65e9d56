"""AsyncAPI 3.1 document of every topic and message, generated from the event models.

Committed as ``schemas/asyncapi.json``; ``routing schemas check`` and a test fail when it
drifts from the models, and tests/contracts/test_asyncapi_official.py holds it to the
official AsyncAPI parser (pydantic writes OpenAPI-style ``discriminator`` objects, which the
AsyncAPI Schema Object does not allow: they become the property name it wants).
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
from routing.episodes.vocabulary import PSEUDONYM_PATTERN
from routing.liability.billing import MonthClosed
from routing.messaging.envelope import BILLING_PREFIX, CONTENT_TYPE, TYPE_PREFIX, CloudEvent
from routing.operations.correlation import KAFKA_HEADER

REF = "#/components/schemas/{model}"
BROKER_PORT = 9092
"""`routing broker`'s default port (its ``--port``); `routing dev` picks a free one."""


def _data_schema(event_schema: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent ``data``: the event without its envelope fields. Stored facts hold a
    pseudonym, never the identity number a front-end may post (C8)."""
    data = deepcopy(event_schema)
    data["properties"] = {
        k: v for k, v in data["properties"].items() if k not in EpisodeEvent.ENVELOPE
    }
    if "patient" in data["properties"]:
        data["properties"]["patient"] = {
            "type": "string",
            "pattern": PSEUDONYM_PATTERN,
            "description": "Keyed pseudonym of the patient (psn_...); never the number.",
        }
    data["required"] = [r for r in data.get("required", []) if r not in EpisodeEvent.ENVELOPE]
    data["title"] = f"{data.get('title', '')}Data"
    return data


def _asyncapi_schema(node: Any) -> Any:
    """An AsyncAPI Schema Object from pydantic's JSON Schema: ``discriminator`` is the
    property's name (a string), not OpenAPI's ``{propertyName, mapping}`` object."""
    if isinstance(node, list):
        return [_asyncapi_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _asyncapi_schema(v) for k, v in node.items()}
    if isinstance(out.get("discriminator"), dict):
        out["discriminator"] = out["discriminator"]["propertyName"]
    return out


PUBLISHED_HEADERS = {
    "type": "object",
    "required": ["content-type"],
    "properties": {
        "content-type": {"type": "string", "const": CONTENT_TYPE},
        KAFKA_HEADER: {
            "type": "string",
            "description": "Id of the HTTP request (X-Request-ID) or inbound message that "
            "caused the fact; absent for facts without one. Never a patient identifier.",
        },
    },
}
POSTED_HEADERS = {
    "type": "object",
    "properties": {
        KAFKA_HEADER: {
            "type": "string",
            "description": "The producer's id for tracing (also read: x-request-id, "
            "traceparent); when absent, one is derived from the message's position.",
        },
    },
}
DEAD_LETTER = {
    "name": "dead_letter",
    "title": "An inbound message that could not be applied",
    "summary": "The original key, value and headers, with identity numbers redacted; "
    "added headers say why. A record too large for the topic comes as a reference.",
    "description": (
        "Key, value and the original headers are copied from the inbound message, except "
        "that identity numbers are never copied: a `patient` shaped like a personnummer or "
        "samordningsnummer is replaced by its keyed pseudonym (valid) or `[redacted]` "
        "(invalid), and a number anywhere else is replaced too. A message without one "
        "is copied byte for byte. A record too large for the dead-letter topic comes as a "
        "reference instead (header dlq-reference: true): a JSON object with reason_code, "
        "reason, original (topic, partition, offset, timestamp), size, sha256, key_sha256 and "
        "first_bytes (redacted). One letter per inbound record and ingest generation."
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
            "dlq-reason": {"type": "string", "description": "Redacted, at most 2000 bytes."},
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
        "description": "The original message value (identity numbers redacted), or a reference "
        "to it (dlq-reference)."
    },
}


def _cloud_event(name: str, type_: str) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": REF.format(model="CloudEvent")},
            {
                "type": "object",
                "properties": {
                    "type": {"const": type_},
                    "data": {"$ref": REF.format(model=f"{name}Data")},
                },
            },
        ]
    }


def _messages(schemas: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(published refs, posted refs, component messages) for every event type."""
    published: dict[str, Any] = {}
    posted: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    key_binding = {"kafka": {"key": {"type": "string", "format": "uuid"}}}
    kinds: list[tuple[str, type[BaseModel], str]] = [
        (t, cls, TYPE_PREFIX) for t, cls in sorted(EVENT_TYPES.items())
    ]
    kinds.append(("month_closed", MonthClosed, BILLING_PREFIX))
    for event_type, cls, prefix in kinds:
        name = cls.__name__
        schemas[f"{name}Data"] = _data_schema(schemas[name])
        schemas[f"{name}CloudEvent"] = _cloud_event(name, prefix + event_type)
        messages[f"{name}Published"] = {
            "name": f"{event_type}.published",
            "title": f"{name} (stored fact)",
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "headers": PUBLISHED_HEADERS,
            "payload": {"$ref": REF.format(model=f"{name}CloudEvent")},
            "bindings": key_binding,
        }
        published[event_type] = {"$ref": f"#/components/messages/{name}Published"}
        if cls is MonthClosed:
            continue  # written by POST /finance/months/close only
        messages[f"{name}Posted"] = {
            "name": f"{event_type}.posted",
            "title": f"{name} (posted by a front-end)",
            "contentType": "application/json",
            "headers": POSTED_HEADERS,
            "payload": {"$ref": REF.format(model=name)},
            "bindings": key_binding,
        }
        posted[event_type] = {"$ref": f"#/components/messages/{name}Posted"}
    messages["DeadLetter"] = DEAD_LETTER
    return published, posted, messages


SERVERS = {
    "development": {
        "host": "127.0.0.1:{port}",
        "protocol": "kafka",
        "description": (
            "The bundled broker (Tansu, memory only). `routing broker` listens on 9092 "
            "(`--port`); `routing dev` picks a free port and prints it in its banner."
        ),
        "variables": {"port": {"default": str(BROKER_PORT)}},
    },
    "compose": {
        "host": "kafka:9092",
        "protocol": "kafka",
        "description": "Apache Kafka of deploy/compose.yaml",
    },
    "kubernetes": {
        "host": "kafka-bootstrap.kafka.svc:9092",
        "protocol": "kafka",
        "description": "Apache Kafka named in deploy/k8s/base/configmap.yaml",
    },
}


def _channels(s: Settings, published: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    return {
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
    }


OPERATIONS = {
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
        "summary": "The ingest consumer parks what it could not apply, redacted.",
        "channel": {"$ref": "#/channels/deadLetter"},
    },
}


def build(settings: Settings | None = None) -> dict[str, Any]:
    s = settings or Settings.model_construct()  # defaults only: the document must not vary
    classes: list[type[BaseModel]] = [*EVENT_TYPES.values(), MonthClosed, CloudEvent]
    mode: JsonSchemaMode = "validation"
    _, defs = models_json_schema([(cls, mode) for cls in classes], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    published, posted, messages = _messages(schemas)
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "routing event backbone",
            "version": "1.0.0",
            "description": (
                "Every fact of a care episode (and every closed billing month), published by "
                "the outbox relay from the event store; facts front-ends may post instead of "
                "HTTP; and the dead letters of those that could not be applied. Keys are "
                "episode ids (billing month ids), so one episode's facts stay in order on one "
                "partition."
            ),
        },
        "defaultContentType": "application/json",
        "servers": SERVERS,
        "channels": _channels(s, published, posted),
        "operations": OPERATIONS,
        "components": {"schemas": _asyncapi_schema(schemas), "messages": messages},
    }


ASYNCAPI_PATH = SCHEMA_DIR.parent / "asyncapi.json"


def write(path: Path = ASYNCAPI_PATH) -> Path:
    path.write_bytes(render(build()))
    return path


def drifted(path: Path = ASYNCAPI_PATH) -> bool:
    return not path.exists() or path.read_bytes() != render(build())
