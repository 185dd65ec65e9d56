"""Graceful shutdown of the real processes (``routing relay``, ``routing ingest``,
``routing projections run``) on SIGTERM, against a real broker and real stores (a SQLite file,
PostgreSQL): each exits 0; the relay's recorded position is the end of what the broker
acknowledged (nothing recorded that is not on the topic); the consumers committed the batch
they had in hand (Kafka's committed offsets equal the positions stored with their effects).
While running, each serves /live, /ready and /metrics on ROUTING_METRICS_PORT and logs JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from projections.episode_summary import EpisodeSummary
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import free_port
from routing.messaging.envelope import decode
from routing.messaging.ingest import Ingest
from routing.messaging.progress import ProgressStore
from routing.operations import correlation
from tests import kafka_support as ks
from tests.integration.test_kafka_faults import committed

pytestmark = pytest.mark.kafka


@pytest.fixture
def processes() -> Iterator[list[ks.Routing]]:
    started: list[ks.Routing] = []
    yield started
    for proc in started:
        proc.terminate()


def launch(
    settings: Settings, tmp_path: Path, processes: list[ks.Routing], *args: str
) -> tuple[ks.Routing, str]:
    port = free_port()
    proc = ks.Routing(settings.model_copy(update={"metrics_port": port}), tmp_path, *args)
    processes.append(proc.start())
    return proc, f"http://127.0.0.1:{port}"


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return None


async def serving(proc: ks.Routing, base: str) -> str:
    """Waits for the ops port; checks /live and /ready; returns the metrics text."""
    live = await ks.eventually(
        lambda: get(f"{base}/live"), timeout=30, what=f"ops port:\n{proc.tail()}"
    )
    assert live.json() == {"status": "alive"}
    ready = get(f"{base}/ready")
    assert ready is not None
    assert ready.status_code == 200, ready.text
    metrics = get(f"{base}/metrics")
    assert metrics is not None
    return metrics.text


def sigterm(proc: ks.Routing) -> int:
    assert proc.proc is not None
    assert proc.proc.poll() is None, f"died early:\n{proc.tail()}"
    proc.proc.send_signal(signal.SIGTERM)
    return proc.proc.wait(30)


def json_lines(proc: ks.Routing) -> list[dict[str, Any]]:
    out = []
    for line in proc.log.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@pytest.mark.asyncio
async def test_the_relay_stops_after_its_last_acknowledged_publish(
    settings: Settings, service: CareEpisodes, tmp_path: Path, processes: list[ks.Routing]
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    ks.load(service, ks.demo_episodes(1500, seed=11))
    facts = ks.stored_facts(service)
    progress = ProgressStore(service)

    relay, base = launch(settings, tmp_path, processes, "relay")
    text = await serving(relay, base)
    assert "routing_relay_store_position" in text
    assert "routing_relay_lag_records" in text
    await ks.eventually(
        lambda: progress.load(settings.events_topic).position > 0,
        timeout=30, interval=0.005, what=f"relay publishing:\n{relay.tail()}",
    )  # fmt: skip
    assert sigterm(relay) == 0, relay.tail()

    stopped = [line for line in json_lines(relay) if "relay stopped at" in line["message"]]
    assert len(stopped) == 1, relay.tail()
    position = progress.load(settings.events_topic).position
    assert stopped[0]["message"] == f"relay stopped at store position {position}"
    records = await ks.read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
    on_topic = {decode(r.value).storeposition for r in records}
    assert {x.position for x in facts if x.position <= position} <= on_topic, (
        "every fact up to the recorded position was acknowledged by the broker"
    )


@pytest.mark.asyncio
async def test_projection_runners_commit_their_last_batch_and_stop(
    settings: Settings, service: CareEpisodes, tmp_path: Path, processes: list[ks.Routing]
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    token = correlation.set_current(correlation.Correlation("bulk-load-0001"))
    try:
        ks.load(service, ks.demo_episodes(600, seed=12))
    finally:
        correlation.reset(token)
    await ks.publish_all(ks.relay_for(settings, service), len(ks.stored_facts(service)))

    runner, base = launch(settings, tmp_path, processes, "projections", "run", "episode_summary")
    topic, name = settings.events_topic, EpisodeSummary.name
    with ks.read_models(settings) as db:
        await ks.eventually(
            lambda: ks.positions(db, name, topic), timeout=60, what=f"applying:\n{runner.tail()}"
        )
        text = await serving(runner, base)
        lag = re.findall(
            rf'routing_projection_lag_messages{{partition="(\d)",projection="{name}"}}', text
        )
        assert lag, "the lag of the partitions it holds, per partition"
        assert sigterm(runner) == 0, runner.tail()
        stored = ks.positions(db, name, topic)
    assert stored, "it applied something before it stopped"
    kafka = await committed(settings.kafka_bootstrap_servers, f"routing-projection-{name}", topic)
    assert {p: o for p, o in kafka.items() if o > 0} == stored, (
        "the batch in hand was committed to Kafka as well as to the read model"
    )
    lines = json_lines(runner)
    assert any(line["message"] == f"{name}: stopped" for line in lines), runner.tail()
    applied = [line for line in lines if "applied" in line["message"]]
    assert applied
    assert all(line["correlation_ids"] == ["bulk-load-0001"] for line in applied)


@pytest.mark.asyncio
async def test_ingest_commits_its_last_batch_and_stops(
    settings: Settings, service: CareEpisodes, tmp_path: Path, processes: list[ks.Routing]
) -> None:
    assert settings.kafka_bootstrap_servers
    await ks.create_topics(settings)
    bodies = [body for episode in ks.demo_episodes(400, seed=13) for body in episode]
    await ks.produce(
        settings.kafka_bootstrap_servers,
        settings.inbound_topic,
        [(b["episode_id"].encode(), orjson.dumps(b)) for b in bodies],
    )
    probe = Ingest(
        service, settings.kafka_bootstrap_servers, settings.inbound_topic,
        settings.dead_letter_topic,
    )  # fmt: skip

    def tracked() -> dict[int, int]:
        return {p: o for p in range(settings.inbound_partitions) if (o := probe.tracked(p))}

    ingest, base = launch(settings, tmp_path, processes, "ingest")
    await ks.eventually(tracked, timeout=60, what=f"ingesting:\n{ingest.tail()}")
    text = await serving(ingest, base)
    assert "routing_events_accepted_total" in text
    assert sigterm(ingest) == 0, ingest.tail()
    await asyncio.sleep(0)
    stored = tracked()
    kafka = await committed(
        settings.kafka_bootstrap_servers, "routing-ingest", settings.inbound_topic
    )
    assert {p: o for p, o in kafka.items() if o > 0} == stored
    assert any("ingest stopped" in line["message"] for line in json_lines(ingest))
