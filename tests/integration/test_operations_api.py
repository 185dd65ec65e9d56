"""The API's operator surface on every store (in-memory, SQLite file, real PostgreSQL):
correlation ids returned and stored with the facts, request latency by route and accepted
events in /metrics, liveness and readiness (a real failing store makes it 503)."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes
from routing.operations import correlation
from routing.store import FACT_TOPICS
from tests import support as f


def fresh(client: TestClient) -> None:
    """Readiness is cached for a second; the test wants it checked now."""
    checker = getattr(client.app.state, "readiness", None)
    if checker is not None:
        checker.forget()


def stored_correlations(episodes: CareEpisodes) -> dict[str, str | None]:
    """event id -> the correlation id stored beside the fact."""
    out: dict[str, str | None] = {}
    for n in episodes.recorder.select_notifications(start=0, limit=10_000, topics=FACT_TOPICS):
        stored: Any = episodes.mapper.to_domain_event(n)
        out[stored.fact["event_id"]] = getattr(stored, correlation.STATE_KEY, None)
    return out


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text`` (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_request_id_is_returned_and_stored_with_each_fact(
    client: TestClient, episodes: CareEpisodes
) -> None:
    journey = f.typical_journey()
    given = client.post("/events", json=journey[0], headers={"X-Request-ID": "req-given-0001"})
    assert given.status_code == 201
    assert given.headers["x-request-id"] == "req-given-0001"

    made = client.post("/events", json=journey[1])
    made_id = made.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = client.post(
        "/events/batch",
        json={"events": journey[2:4]},
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    assert traced.status_code == 201
    assert traced.headers["x-request-id"] == trace

    refused = client.post("/events", json=journey[4], headers={"X-Request-ID": "19121212-1212"})
    assert refused.status_code == 201
    assert refused.headers["x-request-id"] != "19121212-1212"

    stored = stored_correlations(episodes)
    assert stored[journey[0]["event_id"]] == "req-given-0001"
    assert stored[journey[1]["event_id"]] == made_id
    assert stored[journey[2]["event_id"]] == stored[journey[3]["event_id"]] == trace
    assert stored[journey[4]["event_id"]] == refused.headers["x-request-id"]
    assert "19121212" not in str(stored)


def test_metrics_count_accepted_events_and_time_requests_by_route(client: TestClient) -> None:
    before = client.get("/metrics").text
    journey = f.typical_journey()
    for body in journey[:3]:
        assert client.post("/events", json=body).status_code == 201
    assert client.post("/events", json=journey[0]).status_code == 201  # a replay: not counted
    assert client.post("/events/batch", json={"events": journey[3:5]}).status_code == 201
    episode = journey[0]["episode_id"]
    assert client.get(f"/episodes/{episode}").status_code == 200
    assert client.get(f"/episodes/{uuid4()}").status_code == 404

    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    accepted = "routing_events_accepted_total"
    assert grew(accepted, channel="http", type="contact_requested") == 1
    assert sum(grew(accepted, channel="http", type=b["type"]) for b in journey[:3]) == 3
    assert sum(grew(accepted, channel="http_batch", type=b["type"]) for b in journey[3:5]) == 2
    latency = "routing_http_request_duration_seconds_count"
    assert grew(latency, method="POST", route="/events", status="201") == 4
    assert grew(latency, method="GET", route="/episodes/{episode_id}", status="200") == 1
    assert grew(latency, method="GET", route="/episodes/{episode_id}", status="404") == 1
    assert str(episode) not in text, "route templates, never ids, label the latencies"


def test_live_and_ready_answer_when_the_store_does(client: TestClient) -> None:
    assert client.get("/live").json() == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"]["ok"] is True
    assert ready.json()["checks"]["broker"]["detail"] == "not configured"


@pytest.mark.postgres
def test_ready_is_503_naming_the_store_when_postgresql_fails(postgres_settings: Settings) -> None:
    settings = postgres_settings.model_copy(update={"ready_timeout_seconds": 3.0})
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200
        assert settings.postgres_dsn is not None
        with psycopg.connect(str(settings.postgres_dsn), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(settings.postgres_schema))
            )
        fresh(client)
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["checks"]["store"]["ok"] is False
        assert client.get("/live").status_code == 200, "a store outage is no reason to restart"
    assert settings.store is StoreKind.postgres
