"""The broker replaced under load, every process running (issue 15: recovery figure).

``routing serve``, ``relay``, ``ingest`` and ``projections run`` run as separate processes in
production mode against a private PostgreSQL cluster and the bundled broker. Under steady load
(journeys through ``POST /events/batch``, single facts, facts on the inbound topic) the broker
is replaced by a fresh, empty one on the same port (a new cluster: a lost log). Measured from
the new broker's first answer: the API's ``/ready`` 200 with every read model at lag 0, the
relay caught up with the store and ingest at the end of every inbound partition. Nothing
accepted may be lost or counted twice, and
``routing verify`` must be equal.

The bound asserted (``RECOVERY_BOUND_SECONDS``) is looser than the issue's 15 s target so that
a busy 2-core machine does not fail it; the measured figure is printed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from routing.config import Settings
from routing.messaging.broker import BundledBroker
from routing.messaging.ingest import tracking_name
from routing.messaging.progress import ProgressStore
from routing.store import open_episodes
from tests import kafka_support as ks
from tests.faults.conftest import Process, Signer, private_cluster, production_settings
from tests.faults.test_database_restart import (
    FRONT_END,
    Load,
    Outcome,
    _collect,
    _inbound,
    _lag_zero,
    _probe,
    _relay_caught_up,
    _until,
    _wait,
)

pytestmark = pytest.mark.faults

RECOVERY_BOUND_SECONDS = 25.0
"""Loose on purpose: the target is 15 s; a busy 2-core machine must not fail the test."""
OUTAGE_SECONDS = 5.0
"""Between the old broker's end and the new one's start (a replacement is not instant)."""
LOAD_AFTER_SECONDS = 3.0
"""Load goes on this long after the new broker is up (facts the relay must publish to it)."""


async def _ingest_caught_up(settings: Settings) -> bool:
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


async def _scenario(
    broker: BundledBroker, signer: Signer, procs: dict[str, Process], out: Outcome
) -> None:
    api = procs["serve"].base
    settings = procs["serve"].settings
    async with httpx.AsyncClient(timeout=30) as http:

        async def all_ready() -> bool:
            probes = [await _probe(http, p.base + "/ready") for p in procs.values()]
            return all(p.status == 200 for p in probes)

        await _wait("every process ready", all_ready, 120, procs)
        out.inbound_ids += await _inbound(settings, 5)
        load = Load(http, api, signer.headers("front_end", **FRONT_END))
        writing = asyncio.create_task(load.run())
        await asyncio.sleep(3)  # steady load before the fault
        await asyncio.to_thread(broker.stop)
        out.down_at = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(broker.start)  # a fresh cluster, an empty log
        out.back_at = time.monotonic()
        print(f"\nnew broker up at {time.strftime('%H:%M:%S', time.gmtime())}")
        out.inbound_ids += await _inbound(settings, 5)

        async def api_ready() -> bool:
            probe = await _probe(http, api + "/ready")
            out.ready["serve"].append(probe)
            if probe.status == 200 and out.ready_at is None:
                out.ready_at = probe.at
            return probe.status == 200

        try:
            while time.monotonic() - out.back_at < LOAD_AFTER_SECONDS:
                await api_ready()
                await asyncio.sleep(0.2)
        finally:
            load.stop.set()
            await writing
            out.load_stopped_at = time.monotonic()
        out.answers = load.answers

        async def caught_up() -> bool:
            if not await _ingest_caught_up(settings):
                return False
            probe = await _probe(http, api + "/ready")
            if probe.status == 200 and out.ready_at is None:
                out.ready_at = probe.at
            relayed = await asyncio.to_thread(_relay_caught_up, settings)
            if relayed and out.relayed_at is None:
                out.relayed_at = time.monotonic()
            return _lag_zero(probe) and relayed

        out.caught_up_at = await _until(caught_up, 90)
        for name, p in procs.items():
            out.ready[name].append(await _probe(http, p.base + "/ready"))
        reader = signer.headers("auditor")
        summary = await _probe(http, api + "/projections/episode-summary", reader)
        out.projected = int(summary.body["total"]) if summary.status == 200 else -1


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    workdir = tmp_path_factory.mktemp("broker-replaced")
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
            asyncio.run(_scenario(broker, signer, procs, out))
            _collect(out, settings, Path(workdir), procs)
            out.logs = {n: p.tail(60) for n, p in procs.items()}
            keep = os.environ.get("ROUTING_FAULTS_LOGS")  # a directory to keep the logs in
            if keep:
                for p in procs.values():
                    shutil.copy(p.log, Path(keep) / f"broker-replaced-{p.log.name}")
            print(f"\nBroker replaced under load: {out.figures()}")
            for name, p in procs.items():  # what each process said about the new broker
                said = [line[:240] for line in p.tail(400).splitlines() if "WARNING" in line]
                print(f"--- {name}: {len(said)} warnings", *said[-8:], sep="\n")
            yield out
        finally:
            for p in procs.values():
                p.terminate()
            broker.stop()


def test_recovers_within_the_bound_with_nothing_lost_or_counted_twice(outcome: Outcome) -> None:
    figures = outcome.figures()
    assert outcome.exited == dict.fromkeys(outcome.exited), outcome.logs
    assert outcome.ready_at is not None, outcome.logs
    assert outcome.caught_up_at is not None, outcome.logs
    recovery = outcome.caught_up_at - outcome.back_at  # lag 0, /ready 200, relay caught up
    print(f"broker replaced: ready and lag 0 {recovery:.1f} s after the new broker was up")
    assert recovery < RECOVERY_BOUND_SECONDS, figures
    lost_inbound = [i for i in outcome.inbound_ids if outcome.stored[i] == 0]
    assert figures["lost"] == 0, (figures, "inbound lost:", lost_inbound, outcome.logs["ingest"])
    assert figures["double"] == 0, figures
    assert max(outcome.stored.values()) == 1
    assert figures["projected_completed_contacts"] == figures["completed_contacts_stored"]
    assert {a.status for a in outcome.answers} == {201}, "the store never went away"
    code, text = outcome.verify
    assert code == 0, text
