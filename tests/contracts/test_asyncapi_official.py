"""The AsyncAPI document passes the official AsyncAPI parser (the one `asyncapi validate`
uses), and says what the relay and the ingest consumer really do."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from routing.episodes.schemas import render
from routing.messaging import asyncapi
from tests.contracts.tools import asyncapi_validate


def test_the_committed_document_is_valid_for_the_official_parser() -> None:
    result = asyncapi_validate(asyncapi.ASYNCAPI_PATH)
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdict == {"document": True, "errors": 0}


def test_an_openapi_discriminator_object_is_caught(tmp_path: Path) -> None:
    """The validator is not a rubber stamp: the bug the issue found is still found."""
    doc = asyncapi.build()
    triage = doc["components"]["schemas"]["TriageCompleted"]["properties"]["triaged_by"]
    triage["discriminator"] = {"propertyName": "kind"}
    bad = tmp_path / "asyncapi.json"
    bad.write_bytes(render(doc))
    result = asyncapi_validate(bad)
    assert result.returncode == 1
    messages = [json.loads(line).get("message") for line in result.stdout.splitlines()]
    assert '"discriminator" property type must be string' in messages


def test_published_messages_document_their_headers() -> None:
    doc = orjson.loads(asyncapi.ASYNCAPI_PATH.read_bytes())
    messages = doc["components"]["messages"]
    published = [m for name, m in messages.items() if name.endswith("Published")]
    assert len(published) >= 18  # 17 episode facts and month_closed
    for message in published:
        headers = message["headers"]["properties"]
        # The relay's headers (src/routing/messaging/relay.py), by their wire names.
        assert headers["content-type"]["const"] == "application/cloudevents+json; charset=UTF-8"
        assert "correlation-id" in headers
    assert "MonthClosedPublished" in messages


def test_dead_letters_are_documented_as_redacted() -> None:
    doc = orjson.loads(asyncapi.ASYNCAPI_PATH.read_bytes())
    letter = doc["components"]["messages"]["DeadLetter"]
    text = json.dumps(letter)
    assert "redacted" in letter["summary"]
    assert "identity numbers redacted" in letter["payload"]["description"]
    assert "unchanged" not in text


def test_the_development_server_is_where_the_bundled_broker_listens() -> None:
    doc = orjson.loads(asyncapi.ASYNCAPI_PATH.read_bytes())
    dev = doc["servers"]["development"]
    # `routing broker --help` says 9092; `routing dev` chooses a free port at each start.
    assert dev["host"] == "127.0.0.1:{port}"
    assert dev["variables"]["port"]["default"] == "9092"
    hosts = {s["host"] for s in doc["servers"].values()}
    assert "kafka-bootstrap.kafka.svc:9092" in hosts  # deploy/k8s/base/configmap.yaml
    assert "kafka:9092" in hosts  # deploy/compose.yaml


def test_published_data_holds_only_pseudonyms_while_posts_may_hold_numbers() -> None:
    doc = orjson.loads(asyncapi.ASYNCAPI_PATH.read_bytes())
    schemas = doc["components"]["schemas"]
    stored = schemas["ContactRequestedData"]["properties"]["patient"]["pattern"]
    posted = schemas["ContactRequested"]["properties"]["patient"]["pattern"]
    assert stored == "^[A-Za-z0-9_-]{8,128}$"
    assert posted != stored
