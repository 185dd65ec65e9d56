"""End-to-end lag for benchmarks/kafka.py: HTTP 201 -> visible in the episode-summary projection.

The API (``uvicorn api.main:app``), the relay (``routing relay``) and the projection runner
(``routing projections run episode_summary``) run as their own processes on one fresh store,
as in production. This process sends single events over HTTP at a steady rate (journeys from
``factory.py``, each in order on one keep-alive connection) and records when each
``contact_completed`` was answered 201; a poller thread reads the completed contacts of the
read model every ``POLL_S`` and notes when each one first shows up.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.factory import EventFactory
from benchmarks.loadgen import ROOT, Server, bench_environ, percentile, request_bytes
from benchmarks.stores import Store, server_cpu_seconds
from routing.config import StoreKind

ROUTING = Path(ROOT / ".venv/bin/routing")
POLL_S = 0.02
CONNECTIONS = 100  # each waits for its 201 (10-250 ms under group commit): 5 events/s apiece
COMPLETED = (
    "SELECT episode_id FROM episode_summary_contacts WHERE month IS NOT NULL AND episode_id "
)


@dataclass
class LagResult:
    seconds: float = 0.0
    events: int = 0
    accepted: dict[str, float] = field(default_factory=dict)  # episode id -> 201 time
    seen: dict[str, float] = field(default_factory=dict)  # episode id -> first poll showing it
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU s during the load
    http_ms: list[float] = field(default_factory=list)  # per-request latency seen by the client

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def lags_ms(self) -> list[float]:
        return sorted((self.seen[k] - t) * 1000 for k, t in self.accepted.items() if k in self.seen)

    @property
    def missing(self) -> int:
        return sum(1 for k in self.accepted if k not in self.seen)

    def lag(self, p: float) -> float:
        """Percentile ``p`` of the lags, in ms."""
        return percentile(self.lags_ms(), p)


def _reader(kind: StoreKind, db: str, dsn: str) -> Callable[[list[str]], list[str]]:
    """Which of these episodes have their contact completed in the projection's own table."""
    if kind is StoreKind.sqlite:
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)

        def read_sqlite(keys: list[str]) -> list[str]:
            marks = ", ".join("?" * len(keys))
            try:
                return [r[0] for r in conn.execute(f"{COMPLETED}IN ({marks})", keys)]
            except sqlite3.OperationalError:  # table not created yet
                return []

        return read_sqlite
    pg = psycopg.connect(dsn, autocommit=True)
    pg.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(db)))

    def read_pg(keys: list[str]) -> list[str]:
        try:
            return [r[0] for r in pg.execute(COMPLETED + "= ANY(%s)", (keys,))]
        except psycopg.errors.UndefinedTable:
            return []

    return read_pg


class Poller(threading.Thread):
    """Every POLL_S, asks the read model about the contacts answered 201 but not yet seen."""

    def __init__(self, read: Callable[[list[str]], list[str]], res: LagResult) -> None:
        super().__init__(daemon=True)
        self.read, self.res, self.halt = read, res, threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            t = time.perf_counter()  # the snapshot is taken at the query's start
            waiting = [k for k in list(self.res.accepted) if k not in self.res.seen]
            for key in self.read(waiting) if waiting else ():
                self.res.seen.setdefault(key, t)
            self.halt.wait(max(0.0, POLL_S - (time.perf_counter() - t)))


async def _paced(
    port: int, first_slot: int, t0: float, rate: float, deadline: float, res: LagResult
) -> None:
    """Sends events at slots t0 + (first_slot + k*CONNECTIONS)/rate, each after the last's 201."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    factory, slot = EventFactory(), first_slot
    try:
        while True:
            for body in factory.journey():
                at = t0 + slot / rate
                slot += CONNECTIONS
                if at >= deadline:
                    return
                request = request_bytes(port, "/events", body)
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                sent = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line[15:])
                    for line in head.split(b"\r\n")
                    if line[:15].lower() == b"content-length:"
                )
                answer = await reader.readexactly(length)
                accepted = time.perf_counter()
                res.http_ms.append((accepted - sent) * 1000)
                if head[9:12] != b"201":
                    raise RuntimeError(f"HTTP {head[9:12].decode()}: {answer[:300]!r}")
                res.events += 1
                if body["type"] == "contact_completed":
                    res.accepted[body["episode_id"]] = accepted
    finally:
        writer.close()


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``routing`` worker with the API's very environment (keys included): see
    ``bench_environ``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(ROUTING), *args], cwd=ROOT, env=bench_environ(env), stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # the stack stops on SIGTERM: consumers leave their group
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(
    store: Store, bootstrap: str, topic: str, partitions: int, rate: float, seconds: float
) -> LagResult:
    env = store.server_env("e2e") | {
        "ROUTING_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ROUTING_EVENTS_TOPIC": topic,
        "ROUTING_EVENTS_PARTITIONS": str(partitions),
    }
    proj = store.settings("e2e_projections")
    if store.kind is StoreKind.sqlite:
        db = str(proj.sqlite_path)
        env["ROUTING_PROJECTIONS_SQLITE_PATH"] = db
    else:
        db = env["ROUTING_PROJECTIONS_SCHEMA"] = proj.postgres_schema
    server = Server(env, store.log("e2e-api.log"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    res = LagResult()
    poller = Poller(_reader(store.kind, db, store.dsn), res)
    try:
        server.wait_healthy()
        procs["relay"] = _spawn(["relay"], env, store.log("e2e-relay.log"))
        _wait_for_log(procs["relay"], store.log("e2e-relay.log"), "created topics")
        procs["runner"] = _spawn(
            ["projections", "run", "episode_summary"], env, store.log("e2e-runner.log")
        )
        poller.start()
        _warm_up(server, res, procs)
        pids = {"api": server.proc.pid} | {n: p.pid for n, p in procs.items()}
        cpu0 = {n: server_cpu_seconds(pid) for n, pid in pids.items()}
        res.accepted.clear()

        async def load() -> None:
            t0 = time.perf_counter() + 0.05
            deadline = t0 + seconds
            await asyncio.gather(
                *(_paced(server.port, c, t0, rate, deadline, res) for c in range(CONNECTIONS))
            )
            res.seconds = time.perf_counter() - t0

        asyncio.run(load())
        res.cpu = {n: server_cpu_seconds(pid) - cpu0[n] for n, pid in pids.items()}
        drain = time.monotonic() + 15
        while res.missing and time.monotonic() < drain:
            time.sleep(0.1)
    except BaseException:
        for name in ("e2e-api.log", "e2e-relay.log", "e2e-runner.log"):
            if store.log(name).exists():
                print(f"--- {name} (tail) ---\n{store.log(name).read_text()[-2000:]}")
        raise
    finally:
        poller.halt.set()
        poller.join(5)
        for proc in procs.values():
            _stop(proc)
        server.stop()
    return res


def _wait_for_log(proc: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Staggers the starts: every process that opens a PostgreSQL store runs the library's
    CREATE OR REPLACE FUNCTION, and two at once can fail with "tuple concurrently updated"."""
    deadline = time.monotonic() + 30
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} did not log {text!r}")
        time.sleep(0.05)


def _warm_up(server: Server, res: LagResult, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Posts one journey and waits until the projection shows it: relay up, group joined."""
    journey = EventFactory().journey()
    res.accepted[journey[-1]["episode_id"]] = time.perf_counter()
    for body in journey:
        status, answer = server.post("/events", body)
        if status != 201:
            raise RuntimeError(f"warm-up refused ({status}): {answer}")
    t0 = time.monotonic()
    while journey[-1]["episode_id"] not in res.seen:
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead or time.monotonic() - t0 > 60:
            raise RuntimeError(f"warm-up journey never reached the projection (exited: {dead})")
        time.sleep(0.05)
    print(f"    stack ready after {time.monotonic() - t0:.1f} s (relay up, runner joined)")
