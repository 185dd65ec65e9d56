"""One fault under load on the production stack, measured (the broker replaced, a process
SIGKILLed).

``routing serve``, ``relay``, ``ingest`` and ``projections run`` run as separate processes in
production mode (RS256 tokens, cipher on) against a private PostgreSQL cluster and the bundled
broker. Under steady load (journeys through ``POST /events/batch``, single facts through
``POST /events``, facts on the inbound topic) the test's fault runs; load goes on for
``LOAD_AFTER_SECONDS`` after the damaged part is back. Recovery is measured from that return
to the first moment the API's ``/ready`` is 200 with every read model at lag 0, the relay has
published the whole store and ingest has stored its position at the end of every inbound
partition. What was accepted, stored, projected, lost and double-counted is counted from
what the test sent and what the store holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from routing.config import Settings
from routing.messaging.bundled import BundledBroker
from routing.messaging.ingest import tracking_name
from routing.messaging.progress import ProgressStore
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.faults import broker_support as bs
from tests.faults.conftest import Process, Signer, private_cluster, production_settings
from tests.faults.load_support import (
    FRONT_END,
    Load,
    Outcome,
    _collect,
    _inbound,
    _lag_zero,
    _probe,
    _relay_done,
)

LOAD_AFTER_SECONDS = 3.0
"""Load goes on this long after the return (facts the stack must still carry through)."""

Fault = Callable[[BundledBroker, dict[str, Process], Outcome], Awaitable[None]]
"""Does the damage; sets ``down_at`` and ``back_at`` of the outcome."""


async def wait_until(
    what: str, predicate: Any, timeout: float, procs: dict[str, Process] | None = None
) -> float:
    """When ``predicate`` (a function or a coroutine function) first held, polled every 0.1 s:
    the one wait-until-ready loop of the fault tests. Fails after ``timeout`` seconds naming
    ``what`` and the last log lines of ``procs``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = predicate()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return time.monotonic()
        await asyncio.sleep(0.1)
    tails = "\n".join(f"--- {n}\n{p.tail(15)}" for n, p in (procs or {}).items())
    raise AssertionError(f"not within {timeout}s: {what}\n{tails}")


async def first_time(predicate: Any, timeout: float) -> float | None:
    """When ``predicate`` first held after a fault, or None (the tests then say what failed)."""
    with contextlib.suppress(AssertionError):
        return await wait_until("", predicate, timeout)
    return None


async def every_process_ready(
    http: httpx.AsyncClient, procs: dict[str, Process], timeout: float = 120
) -> float:
    """Waits until every process answers ``/ready`` with 200 (the stack is up). A process that
    has ended fails it at once: its port may be answered by another (two given one port)."""

    async def all_ready() -> bool:
        probes = [await _probe(http, p.base + "/ready") for p in procs.values()]
        ended = {n: p.proc.poll() for n, p in procs.items() if not p.alive() and p.proc}
        assert not ended, (ended, {n: procs[n].tail(15) for n in ended})  # after the probes
        return all(p.status == 200 for p in probes)

    return await wait_until("every process ready", all_ready, timeout, procs)


async def ingest_caught_up(settings: Settings) -> bool:
    """Whether ingest has stored its position at the end of every inbound partition of the
    broker it reads (every record stored or dead-lettered)."""
    assert settings.kafka_bootstrap_servers
    ends = await ks.end_offsets(settings.kafka_bootstrap_servers, settings.inbound_topic)

    def tracked() -> dict[int, int]:
        service = open_episodes(settings)
        try:
            generation = ProgressStore(service).load_ingest(settings.inbound_topic).generation
            names = {p: tracking_name(settings.inbound_topic, p, generation) for p in ends}
            return {p: int(service.recorder.max_tracking_id(n) or 0) for p, n in names.items()}
        finally:
            service.close()

    at = await asyncio.to_thread(tracked)
    return all(at[p] >= end for p, end in ends.items())


async def _under_load(
    broker: BundledBroker, signer: Signer, procs: dict[str, Process], out: Outcome, fault: Fault
) -> None:
    api, settings = procs["serve"].base, procs["serve"].settings
    async with httpx.AsyncClient(timeout=30) as http:
        await every_process_ready(http, procs)
        out.inbound_ids += await _inbound(settings, 5)
        load = Load(http, api, signer.headers("front_end", **FRONT_END))
        writing = asyncio.create_task(load.run())
        await asyncio.sleep(3)  # steady load before the fault
        try:
            await fault(broker, procs, out)
            out.inbound_ids += await _inbound(settings, 5)
            while time.monotonic() - out.back_at < LOAD_AFTER_SECONDS:
                probe = await _probe(http, api + "/ready")
                if probe.status == 200 and out.ready_at is None:
                    out.ready_at = probe.at
                await asyncio.sleep(0.2)
        finally:
            load.stop.set()
            await writing
            out.load_stopped_at = time.monotonic()
        out.answers = load.answers

        async def caught_up() -> bool:
            """In this order: the store complete (ingest), all of it published (relay), then
            all of that applied (lag 0); the other way round, a page the relay publishes
            between the lag probe and its check would be missed."""
            if not await ingest_caught_up(settings):
                return False
            relayed = await _relay_done(out, settings)
            if relayed is None:
                return False
            probe = await _probe(http, api + "/ready")
            if probe.status == 200 and out.ready_at is None:
                out.ready_at = probe.at
            return _lag_zero(probe, relayed)

        out.caught_up_at = await first_time(caught_up, 90)
        summary = await _probe(
            http, api + "/projections/episode-summary", signer.headers("auditor")
        )
        out.projected = int(summary.body["total"]) if summary.status == 200 else -1


@contextlib.contextmanager
def fault_under_load(kind: str, workdir: Path, fault: Fault) -> Iterator[Outcome]:
    """Runs the stack, the load and ``fault``; yields what was seen (processes stopped after)."""
    with private_cluster() as cluster:
        broker = BundledBroker().start()
        signer = Signer(workdir)
        settings = production_settings(cluster.dsn, broker.bootstrap_servers, signer)
        procs = {
            args[0]: Process(settings, workdir, *args)
            for args in (("serve",), ("relay",), ("ingest",), ("projections", "run"))
        }
        out = Outcome(ready={name: [] for name in procs})
        try:
            for p in procs.values():
                p.start()
            asyncio.run(_under_load(broker, signer, procs, out, fault))
            _collect(out, settings, workdir, procs)
            out.logs = {n: p.tail(60) for n, p in procs.items()}
            report(kind, out)
            yield out
        finally:
            for p in procs.values():
                p.terminate()
            broker.stop()
            keep = os.environ.get("ROUTING_FAULTS_LOGS")  # a directory to keep the logs in
            for p in procs.values() if keep else ():
                if p.log.exists():
                    shutil.copy(p.log, Path(keep or ".") / f"{kind}-{p.log.name}")


def recovery_seconds(out: Outcome) -> float | None:
    """From the return to ready, lag 0, relay and ingest caught up."""
    return None if out.caught_up_at is None else round(out.caught_up_at - out.back_at, 2)


def report(kind: str, out: Outcome) -> None:
    f = out.figures()
    bs.figures(
        kind,
        recovery_seconds=recovery_seconds(out),
        ready_after_s=f["ready_after_s"],
        accepted=f["accepted"],
        inbound=f["inbound"],
        stored=f["stored"],
        lost=f["lost"],
        double_counted=f["double"],
        projected=f["projected_completed_contacts"],
        expected_projected=f["completed_contacts_stored"],
        verify_equal=out.verify[0] == 0,
    )
