"""Runs the moving parts: relay, ingest consumer, projection runners and (optionally) the API.

``routing dev`` runs them all in one process around the bundled broker; in production each
runs as its own process (``routing relay``, ``routing ingest``, ``routing projections run``,
``routing serve``) against Apache Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn

from projections import PROJECTIONS
from projections.db import ReadModelDB
from projections.runner import ProjectionRunner
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.identity import Pseudonymiser
from routing.messaging.broker import TopicSpec, ensure_topics
from routing.messaging.ingest import Ingest
from routing.messaging.relay import Relay
from routing.operations.health import BrokerProbe, Readiness, store_seen
from routing.operations.server import ops_app
from routing.store import open_episodes

log = logging.getLogger(__name__)


def ops_server(settings: Settings, service: CareEpisodes) -> ApiServer:
    """/live, /ready and /metrics of a worker process on ``ROUTING_METRICS_PORT``."""
    assert settings.metrics_port
    assert settings.kafka_bootstrap_servers
    readiness = Readiness(
        ping_store=service.ping,
        broker=BrokerProbe(settings.kafka_bootstrap_servers),
        topic=settings.events_topic,
        timeout=settings.ready_timeout_seconds,
        seen=store_seen(service, settings.events_topic, settings.inbound_topic),
    )
    config = uvicorn.Config(
        ops_app(readiness),
        host=settings.metrics_host,
        port=settings.metrics_port,
        log_config=None,
        access_log=False,
    )
    return ApiServer(config)


async def prepare_topics(settings: Settings) -> None:
    assert settings.kafka_bootstrap_servers
    await ensure_topics(
        settings.kafka_bootstrap_servers, [TopicSpec(n, p) for n, p in settings.topics()]
    )


def relay(settings: Settings, service: CareEpisodes) -> Relay:
    assert settings.kafka_bootstrap_servers
    return Relay(
        service,
        settings.kafka_bootstrap_servers,
        settings.events_topic,
        partitions=settings.events_partitions,
    )


def ingest(settings: Settings, service: CareEpisodes) -> Ingest:
    assert settings.kafka_bootstrap_servers
    return Ingest(
        service,
        settings.kafka_bootstrap_servers,
        settings.inbound_topic,
        settings.dead_letter_topic,
        pseudonymiser=pseudonymiser(settings),
        max_bytes=settings.max_body_bytes,
    )


def pseudonymiser(settings: Settings) -> Pseudonymiser:
    assert settings.pseudonym_key is not None, "resolve_keys(settings) first"
    return Pseudonymiser(settings.pseudonym_key.get_secret_value().encode())


def runners(
    settings: Settings, db: ReadModelDB, names: list[str] | None = None
) -> list[ProjectionRunner]:
    """The runners; each opens the event store (only) to heal when its offset is no longer
    in the log."""
    assert settings.kafka_bootstrap_servers
    unknown = set(names or ()) - set(PROJECTIONS)
    if unknown:
        raise ValueError(f"unknown projection(s): {', '.join(sorted(unknown))}")
    return [
        ProjectionRunner(
            db,
            build(settings),
            settings.kafka_bootstrap_servers,
            settings.events_topic,
            store=lambda: open_episodes(settings),
        )
        for name, build in PROJECTIONS.items()
        if not names or name in names
    ]


class ApiServer(uvicorn.Server):
    """uvicorn's server without its own signal capture: the stack owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_until_signalled(
    workers: list[Coroutine[Any, Any, None]], stop: asyncio.Event, server: ApiServer | None
) -> None:
    """Runs ``workers`` (each watching ``stop``) and the API until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()

    def shutdown() -> None:
        log.info("stopping: consumers finish their page, the relay its last publish")
        stop.set()
        if server is not None:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, shutdown)
    tasks = [asyncio.create_task(w) for w in workers]
    if server is not None:
        tasks.append(asyncio.create_task(server.serve()))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                shutdown()
                raise task.exception()  # type: ignore[misc]
    finally:
        shutdown()
        await asyncio.gather(*tasks, return_exceptions=True)
