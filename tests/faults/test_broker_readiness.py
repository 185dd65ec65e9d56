"""Readiness and lag tell the truth (issue 15, fault 6), on the project's own processes:
``routing relay``, ``routing projections run`` and ``routing serve`` against PostgreSQL and a
bundled broker.

1. Lag is measured from the real end of each partition. The bundled broker answers
   ListOffsets with the last batch's base offset + 1, so after the relay's multi-record
   batches a projection that stopped reads as caught up (lag 0, ready) when it is not. The
   API's ``/ready`` must name exactly what the topic holds beyond each read model's position.
2. A replaced broker is not ready until the relay has noticed: before the fix ``/ready``
   answered 200 (lag 0: the old positions lie beyond the new log's end) while the relay still
   believed in the old cluster.

Expected values come from reading the topic and the read models' position tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from projections import PROJECTIONS
from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker, free_port
from tests import kafka_support as ks
from tests.faults import broker_support as bs
from tests.faults.broker_support import fault_service  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
def fault_settings(
    postgres_settings: Settings,
    bundled_broker: BundledBroker,
    kafka_names: dict[str, str],
    tmp_path: Path,
) -> Settings:
    """As the shared fixture, with the API on a port of its own and no lag tolerated."""
    return ks.stack_settings(
        postgres_settings, kafka_names, bundled_broker.bootstrap_servers, tmp_path,
        port=free_port(), ready_max_projection_lag=0,
        replay_schema=f"{postgres_settings.postgres_schema}_replay",
    )  # fmt: skip


async def api_ready(settings: Settings) -> tuple[int, Any]:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(f"http://127.0.0.1:{settings.port}/ready")
    except httpx.HTTPError:
        return 0, None
    return r.status_code, r.json()


async def true_lag(settings: Settings) -> dict[str, int]:
    """Worst partition of each projection: messages on the topic beyond its stored position."""
    assert settings.kafka_bootstrap_servers
    ends = await ks.end_offsets(settings.kafka_bootstrap_servers, settings.events_topic)
    with ks.read_models(settings) as db:
        at = {name: ks.positions(db, name, settings.events_topic) for name in PROJECTIONS}
    return {
        name: max((end - at[name].get(p, 0) for p, end in ends.items()), default=0)
        for name in PROJECTIONS
    }


@pytest.mark.asyncio
async def test_ready_and_lag_are_true_after_batches_and_a_replaced_broker(
    fault_settings: Settings,
    fault_service: CareEpisodes,  # noqa: F811
    bundled_broker: BundledBroker,
    tmp_path: Path,
) -> None:
    settings, service = fault_settings, fault_service
    await ks.create_topics(settings)
    episodes = ks.demo_episodes(150, seed=1501)
    ks.load(service, episodes)
    relay = ks.Routing(settings, tmp_path, "relay")
    runners = ks.Routing(settings, tmp_path, "projections", "run")
    api = ks.Routing(settings, tmp_path, "serve")
    procs = [relay, runners, api]

    async def ready_200() -> Any:
        status, body = await api_ready(settings)
        return body if status == 200 else None

    async def recovered() -> bool:
        """/ready 200 and, read from the topic itself, every projection at its end."""
        if not await ready_200():
            return False
        return await true_lag(settings) == dict.fromkeys(PROJECTIONS, 0)

    try:
        for p in procs:
            p.start()
        await bs.wait_for(ready_200, "the stack ready", api, timeout=90)

        # 1. The runners stop; the relay publishes more in multi-record batches.
        runners.sigkill()
        more = ks.demo_episodes(40, seed=1502)
        ks.load(service, more)
        await ks.until_published(settings, service)
        expected = await true_lag(settings)
        assert expected["episode_summary"] > 0

        async def reports_true_lag() -> Any:
            status, body = await api_ready(settings)
            lag = (body or {}).get("checks", {}).get("projections", {}).get("detail", {})
            return (status, body) if lag.get("lag") == expected else None

        status, body = await bs.wait_for(reports_true_lag, f"lag {expected} reported", api, 15)
        assert status == 503
        assert body["checks"]["projections"]["detail"]["behind"] == expected
        runners.start()
        await bs.wait_for(ready_200, "caught up again", api, timeout=60)

        # 2. The broker is replaced while the relay is down (it cannot notice yet).
        relay.sigkill()
        bundled_broker.restart()
        returned = bs.Stopwatch()

        async def broker_answers() -> Any:
            status, body = await api_ready(settings)
            ok = (body or {}).get("checks", {}).get("broker", {}).get("ok")
            return (status, body) if ok else None

        status, body = await bs.wait_for(broker_answers, "the new broker seen", api, 30)
        assert status == 503, body
        identity = body["checks"]["broker_identity"]
        assert not identity["ok"]
        assert identity["detail"]["cluster"] == bundled_broker.cluster_id
        assert "relay" in identity["detail"]["reason"]

        relay.start()
        relay_back = bs.Stopwatch()
        await bs.wait_for(recovered, "ready and lag 0 on the new broker", api, timeout=90)
        back, after_relay = returned.seconds(), relay_back.seconds()
        with ks.read_models(settings) as db:
            counts = ks.summary_counts(db)
        assert counts == ks.expected_summary(episodes + more)

        # 3. Replaced again with every process running: back to ready and lag 0 unaided.
        bundled_broker.restart()
        returned = bs.Stopwatch()
        await bs.wait_for(broker_answers, "the third broker seen", api, 30)
        await bs.wait_for(recovered, "ready and lag 0 on the third broker", api, timeout=90)
        unaided = returned.seconds()
        with ks.read_models(settings) as db:
            counts = ks.summary_counts(db)
        assert counts == ks.expected_summary(episodes + more)
        facts = ks.stored_facts(service)
        bs.verify(settings, tmp_path)
        bs.figures(
            "broker_replaced_readiness",
            recovery_ready_seconds=back,
            ready_seconds_after_relay_start=after_relay,
            recovery_ready_seconds_all_running=unaided,
            stored=len(facts),
            projected=sum(counts.values()),
            expected_projected=sum(ks.expected_summary(episodes + more).values()),
            lost=0 if counts == ks.expected_summary(episodes + more) else -1,
            double_counted=0,
        )
    finally:
        for p in procs:
            p.terminate()
