"""What clients get while PostgreSQL is away, and when it fails in a way nobody planned for.

``routing serve`` runs as a real process in production mode against a private cluster, once
with the fast lane (api/fastlane.py answers the write routes) and once without it (FastAPI
answers everything): both must give the same documented answers. While the cluster is stopped
every request that needs the store is a 503 ``store_unavailable`` with ``Retry-After`` in the
JSON error shape, never a 500 or a text/plain page (issue 15 item 7, issue 16 item 7); when it
is back the same process answers again by itself (item 3). An error nobody mapped (a table
that is gone) is a 500 in the same JSON shape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from tests import support as f
from tests.faults.conftest import Process, Signer, production_settings
from tests.faults.pg_cluster import PgCluster
from tests.faults.stack_support import wait_until

pytestmark = pytest.mark.faults

FRONT_END = {"provider_id": f.PROVIDER, "care_region": f.CARE_REGION}
MONTH = f.T0.strftime("%Y-%m")
READS = (
    f"/finance/liability?home_region=14&month={MONTH}",
    "/projections/episode-summary?home_region=14",
    f"/necessity/summary?care_region={f.CARE_REGION}&month={MONTH}",
)
RECOVERY_TARGET_SECONDS = 15.0


@dataclass
class Api:
    procs: dict[str, Process]
    writer: dict[str, str]
    reader: dict[str, str]


@pytest.fixture
def api(pg_cluster: PgCluster, tmp_path: Path) -> Iterator[Api]:
    """Two API processes on the cluster: fast lane on and off."""
    signer = Signer(tmp_path)
    procs = {}
    for lane in (True, False):
        settings = production_settings(pg_cluster.dsn, None, signer, fast_lane=lane)
        procs["fast lane" if lane else "fastapi"] = Process(settings, tmp_path, "serve")
    try:
        for p in procs.values():
            p.start()
        for name, p in procs.items():
            _ready(name, p, 90, "up")
        yield Api(procs, signer.headers("front_end", **FRONT_END), signer.headers("auditor"))
    finally:
        for p in procs.values():
            p.terminate()


def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    try:
        return httpx.get(url, headers=headers, timeout=30)
    except httpx.TransportError:
        return httpx.Response(599)


def _ready(name: str, proc: Process, timeout: float, what: str) -> float:
    """Seconds until ``proc`` answers ``/ready`` with 200 (stack_support's one wait loop)."""
    start = time.monotonic()
    ready = lambda: _get(proc.base + "/ready").status_code == 200  # noqa: E731
    return asyncio.run(wait_until(f"{name} {what}", ready, timeout, {name: proc})) - start


def _documented(r: httpx.Response, status: int, code: str) -> None:
    where = f"{r.request.method} {r.request.url.path}"
    assert r.status_code == status, (where, r.status_code, r.headers, r.text[:300])
    assert r.headers["content-type"].startswith("application/json"), (where, r.text[:300])
    body = r.json()
    assert body["code"] == code, (where, body)
    assert isinstance(body["message"], str), body
    if status == 503:
        assert r.headers.get("retry-after", "").isdigit(), (where, r.headers)


def test_store_unavailable_is_a_documented_503_and_the_same_process_recovers(
    api: Api, pg_cluster: PgCluster
) -> None:
    journeys = {name: f.typical_journey() for name in api.procs}
    for name, p in api.procs.items():
        first = httpx.post(p.base + "/events/batch", json={"events": f.typical_journey()},
                           headers=api.writer, timeout=30)  # fmt: skip
        assert first.status_code == 201, (name, first.text)
        for path in READS:
            assert _get(p.base + path, api.reader).status_code == 200, (name, path)

    pg_cluster.stop_immediate()
    for name, p in api.procs.items():
        batch = httpx.post(p.base + "/events/batch", json={"events": journeys[name]},
                           headers=api.writer, timeout=30)  # fmt: skip
        _documented(batch, 503, "store_unavailable")
        single = httpx.post(
            p.base + "/events", json=f.contact_requested(), headers=api.writer, timeout=30
        )
        _documented(single, 503, "store_unavailable")
        for path in READS:
            _documented(_get(p.base + path, api.reader), 503, "store_unavailable")
        assert _get(p.base + "/ready").status_code == 503, name
        assert _get(p.base + "/live").status_code == 200, name

    pg_cluster.start()
    for name, p in api.procs.items():
        took = _ready(name, p, RECOVERY_TARGET_SECONDS, "ready again")
        print(f"\n{name}: /ready 200 {took:.1f} s after PostgreSQL's return")
        for path in READS:
            assert _get(p.base + path, api.reader).status_code == 200, (name, path)
        # The client retries what was refused: stored now, once.
        again = httpx.post(p.base + "/events/batch", json={"events": journeys[name]},
                           headers=api.writer, timeout=30)  # fmt: skip
        assert again.status_code == 201, (name, again.text)
        assert p.alive(), p.tail()


def _rename(dsn: str, schema: str, table: str, to: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} RENAME TO {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(to)
            )
        )


def _events_table(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_name LIKE '%events' ORDER BY table_name LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_an_unexpected_store_error_is_a_json_500_on_both_paths(
    api: Api, pg_cluster: PgCluster
) -> None:
    for p in api.procs.values():  # the read models' tables exist once read
        assert _get(p.base + READS[1], api.reader).status_code == 200
    events = _events_table(pg_cluster.dsn)
    _rename(pg_cluster.dsn, "public", events, "moved_away")
    _rename(pg_cluster.dsn, "projections", "episode_summary", "moved_away")
    try:
        for p in api.procs.values():
            r = httpx.post(p.base + "/events/batch", json={"events": f.typical_journey()},
                           headers=api.writer, timeout=30)  # fmt: skip
            _documented(r, 500, "internal_error")
            r = httpx.post(
                p.base + "/events", json=f.contact_requested(), headers=api.writer, timeout=30
            )
            _documented(r, 500, "internal_error")
            _documented(_get(p.base + READS[1], api.reader), 500, "internal_error")
    finally:
        _rename(pg_cluster.dsn, "public", "moved_away", events)
        _rename(pg_cluster.dsn, "projections", "moved_away", "episode_summary")
    for p in api.procs.values():
        assert _get(p.base + READS[1], api.reader).status_code == 200
