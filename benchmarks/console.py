"""Console benchmark: server render time per page for one region-month of a large data set.

    python benchmarks/console.py [--events 200000] [--repeat 10]

Generates ``--events`` demo events (routing.demo: national scale, a year), records them in a
SQLite store, runs the read models the console reads (liability, necessity, care guarantee)
over them exactly as the relay would feed them, then serves the console in-process (the real
FastAPI app, dev sign-in as an auditor) and times each page for Region Stockholm's busiest
month: median and 95th percentile of ``--repeat`` requests after one warm-up. The target
(issue 18) is under 300 ms of server time per page.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from api.app import create_app
from projections import PROJECTIONS
from projections.db import open_read_models
from projections.runner import ProjectionWorker
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_events
from routing.episodes.events import parse_event
from routing.messaging.relay import Relay
from routing.store import open_episodes

READ_MODELS = ("liability", "necessity", "care_guarantee", "indicators")
REGION, TARGET_MS = "01", 300.0


@dataclass
class _Record:
    offset: int
    value: bytes
    key: bytes = b""


def record(settings: Settings, events: int) -> int:
    """Records the demo events; returns how many."""
    service = open_episodes(settings)
    end = date.today()
    generated = generate_events(2026, events, start=end - timedelta(days=365), end=end)
    recorded = 0
    while chunk := list(islice(generated, 200)):
        recorded += len(service.record_batch([parse_event(b) for ep in chunk for b in ep]))
    service.close()
    return recorded


def project(settings: Settings, names: list[str]) -> None:
    """Runs the named read models over the whole store, as the relay would feed them."""
    service, db = open_episodes(settings), open_read_models(settings)
    workers = [ProjectionWorker(db, PROJECTIONS[n](settings), "t") for n in names]
    relay, offset = Relay(service, "127.0.0.1:1", "t"), 0
    while page := relay._read_page():
        records = [_Record(offset + i, m.value) for i, m in enumerate(page)]
        for worker in workers:
            worker.apply(0, records)  # type: ignore[arg-type]
        offset += len(page)
        relay.progress = replace(relay.progress, position=page[-1].position)
    db.close()
    service.close()


def busiest_month(settings: Settings) -> tuple[str, str, str]:
    db = open_read_models(settings)
    with db.transaction() as cur:
        cur.execute(
            "SELECT month, COUNT(*) FROM liability_decisions WHERE home_region = %s"
            " GROUP BY month ORDER BY 2 DESC LIMIT 1",
            (REGION,),
        )
        month = str(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(
            "SELECT episode_id, contact_id FROM liability_decisions WHERE home_region = %s"
            " AND month = %s ORDER BY invoiced_amount DESC LIMIT 1",
            (REGION, month),
        )
        episode, contact = cur.fetchone()  # type: ignore[misc]
    db.close()
    return month, str(episode), str(contact)


def time_pages(settings: Settings, repeat: int) -> list[tuple[str, float, float, int]]:
    month, episode, contact = busiest_month(settings)
    pages = {
        "liability month": f"/console/liability?region={REGION}&month={month}",
        "contacts, page 1": f"/console/liability/contacts?region={REGION}&month={month}",
        "contacts by amount": f"/console/liability/contacts?region={REGION}&month={month}"
        "&sort=amount&status=home_region_liable",
        "contact explanation": f"/console/contacts/{episode}/{contact}",
        "care guarantee": f"/console/care-guarantee?region={REGION}&month={month}",
        "necessity": f"/console/necessity?region={REGION}&month={month}",
        "audit timeline": f"/console/audit?episode_id={episode}",
    }
    out = []
    with TestClient(create_app(settings), follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
        assert token is not None
        client.post("/console/login/dev", data={"csrf": token.group(1), "role": "auditor"})
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
            out.append((f"{name} ({month})", statistics.median(times), p95, len(response.content)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="Keep (or reuse) the databases in this dir.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        settings = Settings(  # type: ignore[call-arg]
            store=StoreKind.sqlite, sqlite_path=tmp / "store.db",
            projections_sqlite_path=tmp / "projections.db", _env_file=None,
            auth_dev_secret=secrets.token_urlsafe(32), pseudonym_key=secrets.token_urlsafe(32),
        )  # fmt: skip
        if not (tmp / "built").exists():
            started = time.perf_counter()
            recorded = record(settings, args.events)
            print(f"{recorded:,} events recorded in {time.perf_counter() - started:.0f} s")
            (tmp / "built").write_text(str(recorded))
            missing = list(READ_MODELS)
        else:
            missing = [n for n in READ_MODELS if not (tmp / f"projected-{n}").exists()]
        if missing:
            started = time.perf_counter()
            project(settings, missing)
            print(f"{', '.join(missing)} projected in {time.perf_counter() - started:.0f} s")
            for name in missing:
                (tmp / f"projected-{name}").touch()
        print(f"data set: {int((tmp / 'built').read_text()):,} events")
        rows = time_pages(settings, args.repeat)
    print(f"\n{'page':<42}{'median ms':>10}{'p95 ms':>9}{'bytes':>9}  target < {TARGET_MS:.0f} ms")
    for name, median, p95, size in rows:
        verdict = "PASS" if p95 < TARGET_MS else "OVER"
        print(f"{name:<42}{median:>10.1f}{p95:>9.1f}{size:>9,}  {verdict}")


if __name__ == "__main__":
    main()
