"""PostgreSQL restarts under the production stack, with nothing lost (issue 15, items 3, 4, 7).

``routing serve``, ``relay``, ``ingest`` and ``projections run`` run as separate processes in
production mode (RS256 tokens, cipher on) against a private PostgreSQL cluster and the bundled
broker. Under steady load (journeys through ``POST /events/batch``, single facts through
``POST /events``, facts on the inbound topic) PostgreSQL is stopped (``pg_ctl stop -m
immediate``, or SIGKILL to the postmaster) and started again a few seconds later. Each
scenario runs once per module; the tests below assert on what it saw.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from routing.config import Settings
from routing.messaging.bundled import BundledBroker
from tests import support as f
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
from tests.faults.pg_cluster import PgCluster
from tests.faults.stack_support import every_process_ready, first_time

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 5.0
RECOVERY_TARGET_SECONDS = 15.0


async def _scenario(
    cluster: PgCluster, settings: Settings, signer: Signer, procs: dict[str, Process], fault: str
) -> Outcome:
    out = Outcome(ready={name: [] for name in procs})
    api = procs["serve"].base
    reader = signer.headers("auditor")
    async with httpx.AsyncClient(timeout=30) as http:
        await every_process_ready(http, procs)
        load = Load(http, api, signer.headers("front_end", **FRONT_END))
        writing = asyncio.create_task(load.run())
        await asyncio.sleep(3)  # steady load before the fault
        await asyncio.to_thread(cluster.stop_immediate if fault == "immediate" else cluster.kill)
        out.down_at = time.monotonic()
        out.inbound_ids += await _inbound(settings, 5)
        while time.monotonic() - out.down_at < OUTAGE_SECONDS:
            for name, p in procs.items():
                out.ready[name].append(await _probe(http, p.base + "/ready"))
            out.live.append(await _probe(http, api + "/live"))
            await asyncio.sleep(0.2)
        await asyncio.to_thread(cluster.start)
        out.back_at = time.monotonic()

        async def api_ready() -> bool:
            probe = await _probe(http, api + "/ready")
            out.ready["serve"].append(probe)
            return probe.status == 200

        try:
            out.ready_at = await first_time(api_ready, 60)
            out.inbound_ids += await _inbound(settings, 5)
            await asyncio.sleep(2)  # steady load after the return
        finally:
            load.stop.set()
            await writing
            out.load_stopped_at = time.monotonic()
        out.answers = load.answers

        async def caught_up() -> bool:
            """The relay first: a page it publishes between the lag probe and its own check
            would be missed the other way round."""
            relayed = await _relay_done(out, settings)
            if relayed is None:
                return False
            return _lag_zero(await _probe(http, api + "/ready"), relayed)

        out.caught_up_at = await first_time(caught_up, 60)
        for name, p in procs.items():
            out.ready[name].append(await _probe(http, p.base + "/ready"))
        month = f.T0.strftime("%Y-%m")
        for path in (
            f"/finance/liability?home_region=14&month={month}",
            "/projections/episode-summary?home_region=14",
            f"/necessity/summary?care_region={f.CARE_REGION}&month={month}",
        ):
            read = await _probe(http, api + path, reader)
            out.reads_after[path] = read.status or 0
        summary = await _probe(http, api + "/projections/episode-summary", reader)
        out.projected = int(summary.body["total"]) if summary.status == 200 else -1
    return out


def _figures(kind: str, out: Outcome) -> None:
    """The FAULT-FIGURES line (benchmarks/faults.py collects them)."""
    from tests.faults.broker_support import figures

    f = out.figures()
    figures(
        kind, recovery_seconds=f["lag0_after_s"], ready_after_s=f["ready_after_s"],
        accepted=f["accepted"], inbound=f["inbound"], stored=f["stored"], lost=f["lost"],
        double_counted=f["double"], projected=f["projected_completed_contacts"],
        expected_projected=f["completed_contacts_stored"], verify_equal=out.verify[0] == 0,
    )  # fmt: skip


@pytest.fixture(scope="module", params=["immediate", "sigkill"])
def outcome(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    fault = str(request.param)
    workdir = tmp_path_factory.mktemp(f"pg-{fault}")
    with private_cluster() as cluster:
        broker = BundledBroker().start()
        signer = Signer(workdir)
        settings = production_settings(cluster.dsn, broker.bootstrap_servers, signer)
        procs = {
            args[0]: Process(settings, workdir, *args)
            for args in (("serve",), ("relay",), ("ingest",), ("projections", "run"))
        }
        try:
            for p in procs.values():
                p.start()
            out = asyncio.run(_scenario(cluster, settings, signer, procs, fault))
            _collect(out, settings, workdir, procs)
            out.logs = {n: p.tail(40) for n, p in procs.items()}
            print(f"\nPostgreSQL restart ({fault}): {out.figures()}")
            _figures(f"postgres_restart_{fault}", out)
            keep = os.environ.get("ROUTING_FAULTS_LOGS")  # a directory to keep the logs in
            if keep:
                for p in procs.values():
                    shutil.copy(p.log, Path(keep) / f"{fault}-{p.log.name}")
            for name, p in procs.items():  # what each process said about the outage
                said = [line[:240] for line in p.tail(400).splitlines() if "WARNING" in line]
                print(f"--- {name}: {len(said)} warnings", *said[-12:], sep="\n")
            yield out
        finally:
            for p in procs.values():
                p.terminate()
            broker.stop()


# --- item 3: the API's read side recovers by itself ------------------------------------------


def test_api_ready_503_during_the_outage_and_200_after_without_a_restart(outcome: Outcome) -> None:
    during = outcome.during("serve")
    assert during, "no probe while PostgreSQL was down"
    assert all(p.status == 503 for p in during), [(p.status, p.body) for p in during]
    assert all(p.status == 200 for p in outcome.live), "liveness must not fail on a dependency"
    assert outcome.exited["serve"] is None, outcome.logs["serve"]
    assert outcome.ready_at is not None
    assert outcome.ready_at - outcome.back_at < RECOVERY_TARGET_SECONDS
    assert set(outcome.reads_after.values()) == {200}, outcome.reads_after


# --- item 4: the workers survive -------------------------------------------------------------


def test_no_worker_exits_and_each_says_not_ready_while_down(outcome: Outcome) -> None:
    assert outcome.exited == dict.fromkeys(outcome.exited), {
        n: log for n, log in outcome.logs.items() if outcome.exited[n] is not None
    }
    for name in ("relay", "ingest", "projections"):
        assert all(p.status == 503 for p in outcome.during(name)), name
        assert outcome.ready[name][-1].status == 200, (name, outcome.ready[name][-1].body)
    assert outcome.caught_up_at is not None
    assert outcome.caught_up_at - outcome.back_at < RECOVERY_TARGET_SECONDS


def test_every_accepted_fact_is_stored_once_and_projections_equal_the_store(
    outcome: Outcome,
) -> None:
    figures = outcome.figures()
    assert figures["lost"] == 0, figures
    assert figures["double"] == 0, figures
    assert max(outcome.stored.values()) == 1  # nothing at all stored twice
    assert figures["projected_completed_contacts"] == figures["completed_contacts_stored"]
    code, text = outcome.verify
    assert code == 0, text


# --- item 7: only documented 503s during the outage -----------------------------------------


def test_during_the_outage_only_documented_503s(outcome: Outcome) -> None:
    statuses = Counter(a.status for a in outcome.answers)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "the load never met the outage"
    for a in outcome.answers:
        if a.status != 503:
            continue
        assert a.content_type.startswith("application/json"), (a.path, a.content_type, a.body)
        body = orjson.loads(a.body)
        assert body["code"] == "store_unavailable", body
        assert isinstance(body["message"], str)
        assert a.retry_after is not None, a
        assert a.retry_after.isdigit(), a
