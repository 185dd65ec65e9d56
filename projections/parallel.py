"""Replay on several cores: groups of projections replayed by worker processes at once.

A replay is CPU-bound Python (decoding, folding, deciding), so one process uses one core
whatever the machine has. Projections are independent of each other, so each worker process
opens the store itself, reads the same range of the log (up to the position the replay
started at) and replays its own group with the same ``replay`` function. On PostgreSQL the
workers write their tables into the scratch schema directly; SQLite has one writer at a time,
so each worker writes a part file of its own and the parent copies the tables into the
scratch file at the end (one ``INSERT ... SELECT`` a table) and deletes the parts.

Workers are spawned, not forked: the parent may hold open connections and threads.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from projections import PROJECTIONS
from projections.db import ReadModelDB, SQLiteReadModels
from projections.replay import Progress, ReplayResult, open_scratch, replay
from routing.config import Settings, StoreKind
from routing.operations.runtime import tune_gc
from routing.store import open_episodes

COST = {"liability": 3.0, "care_guarantee": 3.0, "necessity": 2.0, "episode_summary": 1.0}
"""Relative replay cost of each projection (benchmarks/replay.py --per-projection)."""


def default_workers(settings: Settings) -> int:
    """One a core, at most one a projection; the in-memory store cannot be shared."""
    if settings.store is StoreKind.memory:
        return 1
    return max(1, min(os.cpu_count() or 1, len(PROJECTIONS)))


def groups(names: Sequence[str], workers: int) -> list[list[str]]:
    """Projections dealt to ``workers`` groups, costliest first to the lightest group."""
    out: list[list[str]] = [[] for _ in range(max(1, min(workers, len(names))))]
    load = [0.0] * len(out)
    for name in sorted(names, key=lambda n: (-COST.get(n, 1.0), n)):
        lightest = load.index(min(load))
        out[lightest].append(name)
        load[lightest] += COST.get(name, 1.0)
    return [sorted(g, key=list(names).index) for g in out]


@dataclass(frozen=True)
class _Job:
    settings: Settings
    names: list[str]
    part: Path | None  # SQLite: the worker's own file; PostgreSQL: None (the scratch schema)
    until: int
    index: int


def replay_parallel(
    settings: Settings,
    names: Sequence[str],
    *,
    workers: int,
    progress: Progress = lambda done, total: None,
) -> tuple[ReadModelDB, ReplayResult]:
    """Replays ``names`` into the scratch read models with ``workers`` processes; returns
    the scratch database (open) and the result. Raises if any worker failed."""
    if settings.store is StoreKind.memory:
        raise ValueError("an in-memory store cannot be shared with worker processes")
    service = open_episodes(settings)
    try:
        until = int(service.recorder.max_notification_id() or 0)
    finally:
        service.close()
    scratch = open_scratch(settings)  # refuses a scratch that is the live read models
    started = perf_counter()
    sqlite = settings.store is not StoreKind.postgres
    jobs = [
        _Job(settings, group, _part(settings, i) if sqlite else None, until, i)
        for i, group in enumerate(groups(list(names), workers))
    ]
    try:
        results = _run(jobs, until, progress)
        if sqlite:
            assert isinstance(scratch, SQLiteReadModels)
            for job in jobs:
                assert job.part is not None
                tables = [t for n in job.names for t in PROJECTIONS[n](settings).tables]
                scratch.copy_tables_from(job.part, tables)
    except BaseException:
        scratch.close()
        raise
    finally:
        for job in jobs:
            if job.part is not None:
                _remove(job.part)
    first = results[0]
    return scratch, ReplayResult(
        tuple(names),
        first.facts,
        sum(r.applied for r in results),
        first.position,
        perf_counter() - started,
    )


def _run(jobs: list[_Job], until: int, progress: Progress) -> list[ReplayResult]:
    ctx = multiprocessing.get_context("spawn")
    messages: Any = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(job, messages), daemon=True) for job in jobs]
    for proc in procs:
        proc.start()
    reached = [0] * len(jobs)
    results: dict[int, ReplayResult] = {}
    try:
        while len(results) < len(jobs):
            try:
                kind, index, payload = messages.get(timeout=1.0)
            except queue_module.Empty:
                dead = [p for i, p in enumerate(procs) if i not in results and not p.is_alive()]
                if dead:
                    code = dead[0].exitcode
                    raise RuntimeError(f"a replay worker exited with code {code}") from None
                continue
            if kind == "error":
                raise RuntimeError(f"replay worker {index} failed:\n{payload}")
            if kind == "done":
                results[index] = payload
            else:
                reached[index] = payload
                progress(min(reached), until)
    finally:
        for proc in procs:
            if proc.is_alive() and len(results) < len(jobs):
                proc.terminate()
            proc.join()
    progress(until, until)
    return [results[i] for i in range(len(jobs))]


def _work(job: _Job, messages: Any) -> None:
    """A worker process: replays its group into its part file or the scratch schema."""
    tune_gc()
    try:
        service = open_episodes(job.settings)
        db = (
            SQLiteReadModels(job.part, scratch=True)
            if job.part is not None
            else open_scratch(job.settings)
        )
        try:
            projections = [PROJECTIONS[n](job.settings) for n in job.names]
            result = replay(
                service, db, projections, until=job.until,
                progress=lambda done, _total: messages.put(("progress", job.index, done)),
            )  # fmt: skip
        finally:
            db.close()
            service.close()
        messages.put(("done", job.index, result))
    except BaseException:
        messages.put(("error", job.index, traceback.format_exc()))


def _part(settings: Settings, index: int) -> Path:
    path = settings.replay_sqlite_path
    return path.with_name(f"{path.name}.part{index}")


def _remove(part: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):  # a terminated worker may leave any
        Path(f"{part}{suffix}").unlink(missing_ok=True)
