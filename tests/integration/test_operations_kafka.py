"""Operations against a real broker and real stores (a SQLite file, PostgreSQL): one
correlation id from the HTTP request through the store and the event topic to the projection
runner's log line; inbound messages keep theirs; the relay, projection, dead-letter and
rebuild metrics move; readiness follows the broker and the projections' lag."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from api.app import create_app
from projections import PROJECTIONS
from projections.db import open_read_models
from projections.episode_summary import EpisodeSummary
from projections.rebuild import rebuild
from routing import stack
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker
from routing.messaging.envelope import decode
from routing.messaging.ingest import Ingest
from routing.operations import correlation, metrics
from tests import kafka_support as ks
from tests import support as f
from tests.auth_support import all_roles
from tests.integration.test_operations_api import stored_correlations

pytestmark = pytest.mark.kafka


def fresh(client: TestClient) -> None:
    """Readiness is cached for a second; the test wants it checked now."""
    checker = getattr(client.app.state, "readiness", None)
    if checker is not None:
        checker.forget()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.asyncio
async def test_one_correlation_id_from_request_to_projection_log(
    settings: Settings, service: CareEpisodes, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    journey = f.typical_journey()
    with TestClient(create_app(settings, service=service), headers=all_roles()) as client:
        for i, body in enumerate(journey):
            r = client.post("/events", json=body, headers={"X-Request-ID": f"req-e2e-{i:04d}"})
            assert r.status_code == 201
    wanted = {b["event_id"]: f"req-e2e-{i:04d}" for i, b in enumerate(journey)}
    assert {k: v for k, v in stored_correlations(service).items() if k in wanted} == wanted

    caplog.set_level(logging.INFO, logger="projections.runner")
    with ks.read_models(settings) as db:
        async with ks.background() as workers:
            relay = ks.relay_for(settings, service)
            workers.start(relay.run)
            runner = ks.runner_for(settings, db)
            workers.start(runner.run)
            await ks.wait_caught_up(db, settings, service, workers=workers)
            await ks.eventually(
                lambda: sample("routing_relay_lag_records") == 0, what="relay lag 0"
            )
            assert sample("routing_relay_store_position") == relay.progress.position

    records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
    on_topic = {}
    for r in records:
        event = decode(r.value)
        on_topic[str(event.id)] = event.correlationid
        assert dict(r.headers)[correlation.KAFKA_HEADER].decode() == event.correlationid
    assert on_topic == wanted

    logged: set[str] = set()
    for rec in caplog.records:
        logged.update(getattr(rec, "correlation_ids", []))
    completed = [b for b in journey if b["type"] == "contact_completed"]
    assert completed, "the journey completes a contact (episode summary applies it)"
    assert {wanted[b["event_id"]] for b in completed} <= logged

    name = EpisodeSummary.name
    partition = str(records[0].partition)
    assert sample("routing_projection_lag_messages", projection=name, partition=partition) == 0
    assert sample("routing_projection_next_offset", projection=name, partition=partition) > 0

    metrics.REBUILD_DONE.labels(name).set(0)
    with ks.read_models(settings) as db:
        done = await rebuild(
            db, EpisodeSummary(), settings.kafka_bootstrap_servers, settings.events_topic
        )
    assert done == len(records)
    assert sample("routing_rebuild_messages_done", projection=name) == done
    assert sample("routing_rebuild_messages_to_read", projection=name) == done
    assert sample("routing_rebuild_running", projection=name) == 0


@pytest.mark.asyncio
async def test_inbound_messages_keep_their_correlation_ids_and_dead_letters_are_counted(
    settings: Settings, service: CareEpisodes, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    journey = f.typical_journey()
    bootstrap, inbound = settings.kafka_bootstrap_servers, settings.inbound_topic
    await ks.produce(
        bootstrap, inbound, [(None, orjson.dumps(journey[0]))], partition=0,
        headers=[("correlation-id", b"front-end-0001")],
    )  # fmt: skip
    await ks.produce(bootstrap, inbound, [(None, orjson.dumps(journey[1]))], partition=0)
    await ks.produce(
        bootstrap, inbound, [(None, b"{not json")], partition=0,
        headers=[("x-request-id", b"front-end-0002")],
    )  # fmt: skip
    not_json = sample("routing_dead_letters_total", reason="not_json")
    accepted = sample("routing_events_accepted_total", channel="inbound", type="contact_requested")

    caplog.set_level(logging.WARNING, logger="routing.messaging.ingest")
    ingest = Ingest(service, bootstrap, inbound, settings.dead_letter_topic, group_id="ops-test")
    async with ks.background() as workers:
        workers.start(ingest.run)
        await ks.eventually(
            lambda: ingest.applied == 2 and ingest.dead_lettered == 1, workers=workers
        )
    stored = stored_correlations(service)
    assert stored[journey[0]["event_id"]] == "front-end-0001"
    assert re.fullmatch(rf"kafka-{re.escape(inbound)}-0-1", stored[journey[1]["event_id"]] or "")
    assert sample("routing_dead_letters_total", reason="not_json") == not_json + 1
    assert (
        sample("routing_events_accepted_total", channel="inbound", type="contact_requested")
        == accepted + 1
    )
    (letter,) = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert getattr(letter, "correlation_id", None) == "front-end-0002"


@pytest.mark.asyncio
async def test_ready_waits_for_the_projections_to_catch_up(
    settings: Settings, service: CareEpisodes
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    ks.load(service, ks.demo_episodes(40, seed=5))
    strict = settings.model_copy(update={"ready_max_projection_lag": 0})
    with (
        ks.read_models(settings) as db,
        TestClient(create_app(strict, service=service, read_models=db)) as client,
    ):
        async with ks.background() as workers:
            relay = ks.relay_for(settings, service)
            workers.start(relay.run)
            await ks.until_published(settings, service, workers=workers)

            def report() -> tuple[int, Any]:
                fresh(client)
                r = client.get("/ready")
                return r.status_code, r.json()

            status, body = report()
            assert status == 503, body
            assert body["checks"]["broker"]["ok"] is True
            projections = body["checks"]["projections"]["detail"]
            assert set(projections["behind"]) == set(projections["lag"]) == set(PROJECTIONS)

            runners_db = open_read_models(settings)
            try:
                for runner in stack.runners(settings, runners_db):
                    runner.group_id = f"ready-{runner.group_id}-{id(runner)}"
                    workers.start(runner.run)
                await ks.eventually(
                    lambda: report()[0] == 200, timeout=60, what="ready", workers=workers
                )
                lag = report()[1]["checks"]["projections"]["detail"]["lag"]
                assert lag == dict.fromkeys(PROJECTIONS, 0)
            finally:
                await workers.close()
                runners_db.close()


@pytest.mark.asyncio
async def test_ready_is_503_naming_the_broker_when_it_is_down(
    sqlite_settings: Settings, bundled_broker: BundledBroker
) -> None:
    settings = sqlite_settings.model_copy(
        update={"kafka_bootstrap_servers": bundled_broker.bootstrap_servers}
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200
        bundled_broker.stop()
        fresh(client)
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"]["ok"] is False
        assert ready.json()["checks"]["store"]["ok"] is True
        bundled_broker.start()
        fresh(client)
        assert client.get("/ready").status_code == 200, "it reconnects"
