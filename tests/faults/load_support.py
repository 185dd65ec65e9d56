"""The production stack's load and what a fault test saw, shared by the fault tests that run
it (test_database_restart.py, stack_support.py): the steady writes, the probes of ``/ready``,
and what the store and ``routing verify`` say afterwards.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from routing.config import Settings
from routing.store import FACT_TOPICS, open_episodes
from tests import kafka_support as ks
from tests import support as f
from tests.faults.conftest import Process

FRONT_END = {"provider_id": f.PROVIDER, "care_region": f.CARE_REGION}


@dataclass
class Answer:
    path: str
    status: int
    content_type: str
    body: bytes
    retry_after: str | None
    event_ids: list[str]


@dataclass
class Probe:
    at: float
    status: int | None  # None: no answer at all
    body: Any = None


@dataclass
class Outcome:
    answers: list[Answer] = field(default_factory=list)
    ready: dict[str, list[Probe]] = field(default_factory=dict)
    live: list[Probe] = field(default_factory=list)
    exited: dict[str, int | None] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    down_at: float = 0.0
    back_at: float = 0.0
    ready_at: float | None = None
    caught_up_at: float | None = None
    relayed_at: float | None = None
    load_stopped_at: float = 0.0
    reads_after: dict[str, int] = field(default_factory=dict)
    inbound_ids: list[str] = field(default_factory=list)
    stored: Counter[str] = field(default_factory=Counter)
    completed_stored: int = 0
    projected: int = 0
    verify: tuple[int, str] = (0, "")

    def during(self, name: str) -> list[Probe]:
        return [p for p in self.ready[name] if self.down_at < p.at < self.back_at]

    def figures(self) -> dict[str, Any]:
        accepted = [i for a in self.answers if 200 <= a.status < 300 for i in a.event_ids]
        wanted = accepted + self.inbound_ids
        return {
            "accepted": len(accepted),
            "inbound": len(self.inbound_ids),
            "stored": sum(1 for i in wanted if self.stored[i] >= 1),
            "lost": sum(1 for i in wanted if self.stored[i] == 0),
            "double": sum(1 for i in wanted if self.stored[i] > 1),
            "answered_503": sum(a.status == 503 for a in self.answers),
            "completed_contacts_stored": self.completed_stored,
            "projected_completed_contacts": self.projected,
            "ready_after_s": _since(self.ready_at, self.back_at),
            "lag0_after_s": _since(self.caught_up_at, self.back_at),
            "relay_caught_up_after_s": _since(self.relayed_at, self.back_at),
            "load_stopped_after_s": _since(self.load_stopped_at, self.back_at),
        }


def _since(at: float | None, start: float) -> float | None:
    return None if at is None else round(at - start, 2)


class Load:
    """Steady writes: a journey per batch, a single fact per request, until stopped."""

    def __init__(self, http: httpx.AsyncClient, base: str, headers: dict[str, str]) -> None:
        self.http, self.base, self.headers = http, base, headers
        self.answers: list[Answer] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            journey = f.typical_journey()
            await self._post("/events/batch", {"events": journey}, journey)
            single = f.contact_requested()
            await self._post("/events", single, [single])
            await asyncio.sleep(0.02)

    async def _post(self, path: str, body: Any, facts: list[dict[str, Any]]) -> None:
        try:
            r = await self.http.post(self.base + path, json=body, headers=self.headers)
        except httpx.TransportError as exc:  # the API must answer, whatever happens
            self.answers.append(Answer(path, 0, "", repr(exc).encode(), None, []))
            return
        self.answers.append(
            Answer(
                path, r.status_code, r.headers.get("content-type", ""), r.content,
                r.headers.get("retry-after"), [str(b["event_id"]) for b in facts],
            )
        )  # fmt: skip


async def _probe(http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> Probe:
    try:
        r = await http.get(url, headers=headers, timeout=10)
    except httpx.TransportError:
        return Probe(time.monotonic(), None)
    try:
        body = r.json()
    except ValueError:
        body = r.text
    return Probe(time.monotonic(), r.status_code, body)


def _lag_zero(probe: Probe, since: float) -> bool:
    """Whether ``/ready`` says every projection is at lag 0 in checks that began after
    ``since`` (Unix time): the API caches its answer for a moment, and an answer checked before
    the relay published its last page says lag 0 for the log without that page."""
    if probe.status != 200 or not isinstance(probe.body, dict):
        return False
    began = datetime.fromisoformat(probe.body["checked_at"]).timestamp()
    if began < since:
        return False
    lag = probe.body["checks"]["projections"]["detail"]["lag"]
    return all(v == 0 for v in lag.values())


async def _relay_done(out: Outcome, settings: Settings) -> float | None:
    """When (Unix time) this look saw the relay had published the whole store, or None; the
    first such moment is noted in ``out``. A ``/ready`` answer is trusted only when its checks
    began after this look (the store may have grown since an earlier one)."""
    if not await asyncio.to_thread(_relay_caught_up, settings):
        return None
    seen = time.time()
    if out.relayed_at is None:
        out.relayed_at = time.monotonic()
    return seen


def _relay_caught_up(settings: Settings) -> bool:
    try:
        service = open_episodes(settings)
    except Exception:  # the store is not back yet
        return False
    try:
        position = ks.relay_progress(service, settings.events_topic).position
        unpublished = service.recorder.select_notifications(
            start=position, limit=1, topics=FACT_TOPICS, inclusive_of_start=False
        )
        return not unpublished
    finally:
        service.close()


async def _inbound(settings: Settings, n: int) -> list[str]:
    facts = [f.contact_requested() for _ in range(n)]
    assert settings.kafka_bootstrap_servers
    await ks.produce(
        settings.kafka_bootstrap_servers, settings.inbound_topic,
        [(b["episode_id"].encode(), orjson.dumps(b)) for b in facts],
    )  # fmt: skip
    return [str(b["event_id"]) for b in facts]


def _collect(out: Outcome, settings: Settings, workdir: Path, procs: dict[str, Process]) -> None:
    out.exited = {name: p.proc.poll() if p.proc else -1 for name, p in procs.items()}
    service = open_episodes(settings)
    try:
        facts = ks.stored_facts(service)
    finally:
        service.close()
    out.stored = Counter(s.event_id for s in facts)
    out.completed_stored = sum(s.fact["type"] == "contact_completed" for s in facts)
    verify = subprocess.run(
        [sys.executable, "-m", "routing.cli", "verify"], cwd=workdir, env=ks.routing_env(settings),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out.verify = (verify.returncode, verify.stdout[-3000:] + verify.stderr[-3000:])
