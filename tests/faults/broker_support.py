"""Helpers of the broker fault tests: a production-like stack on a broker of the test's own.

Each test runs the project's own processes (``routing ingest``, ``routing relay``,
``routing projections run``) as subprocesses against PostgreSQL and a bundled broker that the
test stops and starts again on the same port (a fresh, empty cluster: a broker that lost its
log). Expected outcomes are counted from what the test sent, never from the code under test.

The figures each test measures (recovery time from the dependency's return, events accepted,
stored, projected, lost, double-counted) are printed as one ``FAULT-FIGURES`` JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker, free_port
from routing.store import open_episodes
from tests import kafka_support as ks

Body = dict[str, Any]


@pytest.fixture
def fault_settings(
    postgres_settings: Settings,
    bundled_broker: BundledBroker,
    kafka_names: dict[str, str],
    tmp_path: Path,
) -> Settings:
    """PostgreSQL store and read models, the test's own broker and topics, a metrics port."""
    return ks.stack_settings(
        postgres_settings,
        kafka_names,
        bundled_broker.bootstrap_servers,
        tmp_path,
        metrics_port=free_port(),
    )


@pytest.fixture
def fault_service(fault_settings: Settings) -> Iterator[CareEpisodes]:
    service = open_episodes(fault_settings)
    yield service
    service.close()


def js(body: Body) -> bytes:
    return orjson.dumps(body)


async def produce_inbound(
    settings: Settings, values: Iterable[tuple[bytes, bytes]], *, max_request_size: int = 1 << 20
) -> list[int]:
    """Sends (key, value) to partition 0 of the inbound topic, in order; returns the offsets."""
    from aiokafka import AIOKafkaProducer

    assert settings.kafka_bootstrap_servers
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        max_request_size=max_request_size,
    )
    await producer.start()
    try:
        out = []
        for key, value in values:
            meta = await producer.send_and_wait(
                settings.inbound_topic, value=value, key=key, partition=0
            )
            out.append(meta.offset)
        return out
    finally:
        await producer.stop()


def stored_ids(service: CareEpisodes) -> Counter[str]:
    """How often each event id is in the store (every fact, receipts excluded)."""
    return Counter(x.event_id for x in ks.stored_facts(service))


async def dead_letters(settings: Settings) -> list[Any]:
    assert settings.kafka_bootstrap_servers
    return await ks.read_topic(settings.kafka_bootstrap_servers, settings.dead_letter_topic)


def letter_origins(letters: Iterable[Any]) -> Counter[tuple[int, int]]:
    """(partition, offset) of the inbound record behind each dead letter, counted."""
    out: Counter[tuple[int, int]] = Counter()
    for r in letters:
        h = dict(r.headers)
        out[(int(h["dlq-original-partition"]), int(h["dlq-original-offset"]))] += 1
    return out


async def ready(settings: Settings) -> tuple[int, Any]:
    """Status and body of the process's ``/ready`` on its metrics port (0: not answering)."""
    url = f"http://127.0.0.1:{settings.metrics_port}/ready"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            r = await client.get(url)
    except httpx.HTTPError:
        return 0, None
    return r.status_code, r.json()


async def until_ready(settings: Settings, *, timeout: float = 60.0) -> Any:
    async def ok() -> Any:
        status, body = await ready(settings)
        return body if status == 200 else None

    return await ks.eventually(ok, timeout=timeout, interval=0.2, what="/ready 200")


def figures(kind: str, **values: Any) -> None:
    """Prints the figures of one fault run (collected for the operating note)."""
    print(f"\nFAULT-FIGURES {json.dumps({'fault': kind, **values}, sort_keys=True)}")


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 2)


async def wait_for(predicate: Any, what: str, proc: ks.Routing, timeout: float = 60.0) -> Any:
    """``eventually``, naming the process's last log lines when it times out."""
    try:
        return await ks.eventually(predicate, timeout=timeout, interval=0.2, what=what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n--- {proc.args}:\n{proc.tail(40)}") from None


def verify(settings: Settings, cwd: Path) -> str:
    """``routing verify`` (every projection replayed from the store and compared with the
    live read model); fails unless all are equal. Returns its output."""
    done = subprocess.run(
        [sys.executable, "-m", "routing.cli", "verify", "--workers", "1"],
        env=ks.routing_env(settings), capture_output=True, text=True, timeout=300, check=False,
        cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, f"routing verify found differences:\n{done.stdout}{done.stderr}"
    return done.stdout
