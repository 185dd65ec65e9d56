# Over 300 lines because it is the Kafka tier's one helper module (stack, topics, waits, counts).
"""Helpers for the Kafka tier: settings for one test's stack, reading topics, waiting with a
deadline, running workers in the background, and the episode-summary counts computed straight
from the generated events (independently of the projection's SQL).

Tansu (the bundled broker) under-reports ``ListOffsets`` (it answers the base offset of the last
batch + 1), so nothing here trusts ``end_offsets``: a topic is read until every partition's
position reaches the high watermark of a fetch response, which Tansu reports correctly.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import SecretStr

from projections import base
from projections.db import ReadModelDB, open_read_models
from projections.episode_summary import EpisodeSummary
from projections.runner import ProjectionRunner, ProjectionWorker
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes, Recorded
from routing.messaging.broker import TopicSpec, ensure_topics
from routing.messaging.envelope import decode
from routing.messaging.progress import ProgressStore, RelayProgress
from routing.messaging.relay import Relay
from routing.store import FACT_TOPICS

Body = dict[str, Any]
Episode = list[Body]
SummaryKey = tuple[str, str, str, str]  # home region, care region, mode, month
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# --- settings --------------------------------------------------------------------------------


def stack_settings(
    store: Settings, names: dict[str, str], bootstrap: str, tmp_path: Path, **overrides: Any
) -> Settings:
    """The store settings of a fixture plus the test's own topics, broker and read models."""
    update: dict[str, Any] = {
        **names,
        "kafka_bootstrap_servers": bootstrap,
        "projections_sqlite_path": tmp_path / "projections.db",
        # A schema of the test's own in the session database (dropped with it).
        "projections_schema": f"{store.postgres_schema or 'p'}_rm_{uuid.uuid4().hex[:6]}",
        **overrides,
    }
    settings = store.model_copy(update=update)
    if settings.store is StoreKind.sqlite:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return settings


def routing_env(settings: Settings) -> dict[str, str]:
    """The environment under which ``routing ...`` reads exactly ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTING_")}
    for name, value in settings.model_dump(mode="json").items():
        secret = getattr(settings, name)
        if isinstance(secret, SecretStr):  # dumped as '**********'
            value = secret.get_secret_value()
        if value is not None:
            env[f"ROUTING_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def create_topics(settings: Settings) -> None:
    assert settings.kafka_bootstrap_servers
    await ensure_topics(
        settings.kafka_bootstrap_servers, [TopicSpec(n, p) for n, p in settings.topics()]
    )


# --- data ------------------------------------------------------------------------------------


def demo_episodes(count: int, seed: int = 7) -> list[Episode]:
    """Generated episodes over the first half of 2025 (well in the past, several months)."""
    return list(generate_episodes(seed, count, start=date(2025, 1, 1), end=date(2025, 7, 1)))


def load(service: CareEpisodes, episodes: Iterable[Episode], per_batch: int = 100) -> int:
    """Records the episodes, ``per_batch`` episodes per transaction; all must be new facts."""
    chunk: list[Body] = []
    stored = 0

    def flush() -> None:
        nonlocal stored
        recorded: list[Recorded] = service.record_batch([parse_event(b) for b in chunk])
        assert not any(r.replayed for r in recorded), "the generator repeated an event id"
        stored += len(recorded)
        chunk.clear()

    for i, episode in enumerate(episodes, 1):
        chunk.extend(episode)
        if i % per_batch == 0:
            flush()
    if chunk:
        flush()
    return stored


@dataclass(frozen=True)
class StoredFact:
    position: int
    event_id: str
    episode_id: str
    version: int
    fact: Body
    recorded_at: datetime


def stored_facts(service: CareEpisodes) -> list[StoredFact]:
    """Every fact in the store (receipts excluded), in store order."""
    out: list[StoredFact] = []
    start = 0
    while True:
        page = service.recorder.select_notifications(
            start=start, limit=1000, topics=FACT_TOPICS, inclusive_of_start=False
        )
        if not page:
            return out
        for n in page:
            stored: Any = service.mapper.to_domain_event(n)
            out.append(
                StoredFact(
                    n.id,
                    stored.fact["event_id"],
                    str(n.originator_id),
                    n.originator_version,
                    stored.fact,
                    stored.timestamp,
                )
            )
        start = page[-1].id


def relay_progress(service: CareEpisodes, topic: str) -> RelayProgress:
    return ProgressStore(service).load(topic)


# --- expected read model ---------------------------------------------------------------------


def expected_summary(episodes: Iterable[Sequence[Body]]) -> Counter[SummaryKey]:
    """Completed contacts per (home region, care region, mode, month), straight from the facts.

    A contact counts once, when completed (distance, its mode) or held (physical), in the month
    of that moment in Swedish time, under the episode's *final* home region (a correction moves
    the contacts already counted too).
    """
    counts: Counter[SummaryKey] = Counter()
    for events in episodes:
        home: str | None = None
        care: dict[str, str] = {}
        done: list[tuple[str, str, str]] = []
        for e in events:
            kind = e["type"]
            if kind == "contact_requested":
                home = home or e["home_region"]["county"]
                care[e["contact_id"]] = e["care_region"]
            elif kind == "home_region_corrected":
                home = e["home_region"]["county"]
            elif kind == "contact_completed":
                done.append((e["contact_id"], e["mode"], e["occurred_at"]))
            elif kind == "physical_visit_held":
                done.append((e["contact_id"], "physical", e["occurred_at"]))
        for contact, mode, at in done:
            assert home is not None
            month = datetime.fromisoformat(at).astimezone(STOCKHOLM).strftime("%Y-%m")
            counts[(home, care[contact], mode, month)] += 1
    return counts


def summary_counts(db: ReadModelDB) -> Counter[SummaryKey]:
    with db.transaction() as cur:
        EpisodeSummary().create(cur)
        rows = EpisodeSummary.rows(cur)
    return Counter(
        {(r["home_region"], r["care_region"], r["mode"], r["month"]): r["contacts"] for r in rows}
    )


def positions(db: ReadModelDB, projection: str, topic: str) -> dict[int, int]:
    """Next offset per partition, as the read model's own positions say (its live
    generation's tracking records)."""
    with db.transaction() as cur:
        live = base.all_positions(cur, topic).get(projection, {})
        return {int(p): int(o) for p, o in live.items() if int(o) > 0}


@contextlib.contextmanager
def read_models(settings: Settings) -> Iterator[ReadModelDB]:
    db = open_read_models(settings)
    try:
        yield db
    finally:
        db.close()


# --- reading topics --------------------------------------------------------------------------

Record: TypeAlias = ConsumerRecord  # of bytes key and value


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 20.0) -> list[Record]:
    """Every message of ``topic`` now, in partition then offset order (manual assignment)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: dict[TopicPartition, list[Record]] = {tp: [] for tp in tps}
        deadline = time.monotonic() + timeout
        while True:
            pages = await consumer.getmany(timeout_ms=100, max_records=10_000)
            for tp, page in pages.items():
                records[tp].extend(page)
            behind = [
                tp
                for tp in tps
                if (hw := consumer.highwater(tp)) is None or await consumer.position(tp) < hw
            ]
            if not behind:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: still behind on {behind} after {timeout}s")
        return [r for tp in tps for r in records[tp]]
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """True next offset per non-empty partition (from the messages, not ListOffsets)."""
    ends: dict[int, int] = {}
    for r in await read_topic(bootstrap, topic):
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    return ends


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None]],
    *,
    partition: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> list[tuple[int, int]]:
    """Sends (key, value) pairs in order with acks=all; returns (partition, offset) of each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        out = []
        for key, value in messages:
            meta = await producer.send_and_wait(
                topic, value=value, key=key, partition=partition, headers=headers
            )
            out.append((meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()


# --- waiting and running ---------------------------------------------------------------------


async def eventually(
    predicate: Callable[[], object],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "",
    workers: Background | None = None,
) -> Any:
    """Async ``wait_until`` (``predicate`` may be a coroutine function); a background worker
    that died fails the wait at once."""
    deadline = time.monotonic() + timeout
    while True:
        if workers is not None:
            workers.check()
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            where = workers.stacks() if workers is not None else ""
            raise TimeoutError(f"not within {timeout}s: {what or predicate}{where}")
        await asyncio.sleep(interval)


class Background:
    """Workers (``run(stop)`` coroutines) running as tasks until the block ends."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, run: Callable[[asyncio.Event], Awaitable[None]]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(run(self.stop))  # type: ignore[arg-type]
        self.tasks.append(task)
        return task

    def check(self) -> None:
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError(f"a background worker died: {task.exception()!r}")
            if task.cancelled() and not self.stop.is_set():  # only close() cancels them
                raise AssertionError(f"a background worker ended cancelled: {task!r}")

    def stacks(self) -> str:
        """Where each worker is waiting (for timeouts)."""
        out = []
        for task in self.tasks:
            buf = io.StringIO()
            task.print_stack(file=buf)
            out.append(buf.getvalue())
        return "\n" + "\n".join(out)

    async def close(self, timeout: float = 20.0) -> None:
        self.stop.set()
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        assert not pending, f"{len(pending)} worker(s) ignored the stop signal"


@contextlib.asynccontextmanager
async def background() -> AsyncIterator[Background]:
    workers = Background()
    try:
        yield workers
    finally:
        await workers.close()


async def wait_caught_up(
    db: ReadModelDB,
    settings: Settings,
    service: CareEpisodes,
    *,
    timeout: float = 60.0,
    workers: Background | None = None,
) -> dict[int, int]:
    """Until every stored fact is on the event topic and the episode summary's stored
    positions reach the end of every partition; returns those ends."""
    records = await until_published(settings, service, timeout=timeout, workers=workers)
    ends: dict[int, int] = {}
    for r in records:
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    topic = settings.events_topic

    async def caught_up() -> bool:
        return await asyncio.to_thread(positions, db, EpisodeSummary.name, topic) == ends

    await eventually(caught_up, timeout=timeout, what=f"projection at {ends}", workers=workers)
    return ends


# --- subprocesses ----------------------------------------------------------------------------


class Routing:
    """``routing <args>`` as a child process (killed at the end of the test, whatever happens)."""

    def __init__(self, settings: Settings, tmp_path: Path, *args: str) -> None:
        self.settings, self.args = settings, args
        self.cwd = tmp_path
        self.log = tmp_path / f"routing-{'-'.join(args)}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, **env: str) -> Routing:
        """Starts the process; ``env`` adds variables (e.g. ``ROUTING_FAILPOINTS``)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n=== start {self.starts}\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "routing.cli", *self.args],
                cwd=self.cwd,
                env={**routing_env(self.settings), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def sigkill(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, f"not running:\n{self.tail()}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stopped(self) -> bool:
        """Whether the process stopped itself (SIGSTOP at a failpoint: state ``T``)."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"exited with {self.proc.returncode}:\n{self.tail()}")
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "T"

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# --- the moving parts, in-process -----------------------------------------------------------


def relay_for(settings: Settings, service: CareEpisodes, **kw: Any) -> Relay:
    assert settings.kafka_bootstrap_servers
    return Relay(
        service,
        settings.kafka_bootstrap_servers,
        settings.events_topic,
        partitions=settings.events_partitions,
        **kw,
    )


async def publish_all(relay: Relay, expected: int) -> None:
    """Runs the relay until it has published ``expected`` facts and then read the store and
    found nothing more to publish. Callers assert exact counts (no receipts, no repeats):
    anything extra would have been published before that empty read, which began after the
    page that reached ``expected`` was done, so no wall-clock wait is needed to prove absence."""
    reads = _EmptyReads(relay)
    try:
        async with background() as workers:
            workers.start(relay.run)
            await eventually(
                lambda: relay.published_total >= expected,
                what=f"{expected} facts published (so far {relay.published_total})",
                workers=workers,
            )
            # No await since the check: the relay's pages are sequential, so an empty read
            # counted from here on began after the page that reached ``expected`` ended.
            done = reads.count
            await eventually(
                lambda: reads.count > done, what="the relay found nothing more", workers=workers
            )
    finally:
        reads.close()


class _EmptyReads:
    """Counts the relay's reads of the store that found nothing after its position (its own
    signal of being idle), by wrapping its page step for the length of a ``publish_all``."""

    def __init__(self, relay: Relay) -> None:
        self.relay, self.count = relay, 0
        publish = relay._publish_page

        async def counted(producer: AIOKafkaProducer) -> int:
            sent = await publish(producer)
            if sent == 0:
                self.count += 1
            return sent

        relay._publish_page = counted  # type: ignore[method-assign]

    def close(self) -> None:
        del self.relay._publish_page  # the class's method again


def runner_for(settings: Settings, db: ReadModelDB, group: str | None = None) -> ProjectionRunner:
    """The episode-summary runner in a consumer group of the test's own."""
    assert settings.kafka_bootstrap_servers
    return ProjectionRunner(
        db,
        EpisodeSummary(),
        settings.kafka_bootstrap_servers,
        settings.events_topic,
        group_prefix=group or f"test-{uuid.uuid4().hex[:8]}-",
    )


async def project(
    db: ReadModelDB, settings: Settings, page: int = 500, worker: ProjectionWorker | None = None
) -> ProjectionWorker:
    """Feeds the whole event topic to the episode-summary worker (manual assignment, no group),
    one page per read-model transaction, from offset 0 as a consumer reset to the earliest
    offset would; when the worker asks for a seek (a new relay epoch) it starts over."""
    assert settings.kafka_bootstrap_servers
    worker = worker or ProjectionWorker(db, EpisodeSummary(), settings.events_topic)
    for _ in range(3):
        records = await read_topic(settings.kafka_bootstrap_servers, settings.events_topic)
        by_partition: dict[int, list[Record]] = {}
        for r in records:
            by_partition.setdefault(r.partition, []).append(r)
        if await _feed(worker, by_partition, page):
            return worker
    raise AssertionError("the worker kept asking to start over")


async def _feed(worker: ProjectionWorker, by_partition: dict[int, list[Record]], page: int) -> bool:
    for partition, rs in sorted(by_partition.items()):
        for i in range(0, len(rs), page):
            applied = await asyncio.to_thread(worker.apply, partition, rs[i : i + page])
            if applied.seek_to is not None:
                assert applied.seek_to == 0, f"unexpected seek on {partition}: {applied}"
                return False
    return True


async def until_published(
    settings: Settings, service: CareEpisodes, *, timeout: float = 30.0, **kw: Any
) -> list[Record]:
    """Until every stored fact is on the event topic; returns the topic's messages."""
    assert settings.kafka_bootstrap_servers
    want = {x.event_id for x in stored_facts(service)}
    records: list[Record] = []

    async def published() -> bool:
        nonlocal records
        records = await read_topic(settings.kafka_bootstrap_servers or "", settings.events_topic)
        return want <= {str(decode(r.value).id) for r in records}

    await eventually(published, timeout=timeout, what=f"{len(want)} facts on the topic", **kw)
    return records


def commit_failing_once(real_commit: Callable[..., Awaitable[None]]) -> Any:
    """``AIOKafkaConsumer.commit`` whose first call fails as it does when the group rebalanced
    (or the broker restarted) under the consumer. ``.failures`` counts the failed calls."""
    from aiokafka.errors import CommitFailedError

    async def commit(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        if commit.failures == 0:  # type: ignore[attr-defined]
            commit.failures += 1  # type: ignore[attr-defined]
            raise CommitFailedError("the group rebalanced")
        await real_commit(self, offsets)

    commit.failures = 0  # type: ignore[attr-defined]
    return commit
