"""Replay on several cores: each worker process replays every projection for one range of
episode hashes (``projections.shares``), and the parts are merged into the scratch models.

A replay is CPU-bound Python (decoding, folding, deciding), so one process uses one core
whatever the machine has. Each worker opens the store itself, reads the same range of the
log (up to the position the replay started at) and replays its share of the episodes with
the same ``replay`` function into a part of its own: a SQLite file beside the scratch file,
or a schema beside the scratch schema on PostgreSQL. The parent merges the parts (one
``INSERT ... SELECT`` a table and part) and removes them. What bounds the speed-up: every
worker still reads and decodes the whole log (the store's read rate), and the merge.

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

import psycopg
from psycopg import sql

from projections import PROJECTIONS, shares
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels
from projections.replay import Progress, ReplayResult, open_scratch, replay
from routing.config import Settings, StoreKind
from routing.operations.runtime import tune_gc
from routing.store import open_episodes


def default_workers(settings: Settings) -> int:
    """One a core; the in-memory store cannot be shared."""
    if settings.store is StoreKind.memory:
        return 1
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _Job:
    settings: Settings
    names: list[str]
    part: str  # SQLite: the worker's own file; PostgreSQL: its own schema
    until: int
    index: int
    of: int


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
    jobs = [
        _Job(settings, list(names), part_name(settings, i), until, i, workers)
        for i in range(max(1, workers))
    ]
    try:
        results = _run(jobs, until, progress)
        merge_parts(settings, scratch, list(names), [job.part for job in jobs])
    except BaseException:
        scratch.close()
        raise
    finally:
        for job in jobs:
            remove_part(settings, job.part)
    first = results[0]
    return scratch, ReplayResult(
        tuple(names),
        first.facts,
        sum(r.applied for r in results),
        first.position,
        perf_counter() - started,
    )


def merge_parts(
    settings: Settings, scratch: ReadModelDB, names: list[str], parts: list[str]
) -> None:
    """Merges the workers' parts into the scratch read models (emptied first)."""
    projections = [PROJECTIONS[n](settings) for n in names]
    shares.prepare(scratch, projections)
    for part in parts:
        if isinstance(scratch, SQLiteReadModels):
            shares.merge_sqlite(scratch, part, projections)
        else:
            with scratch.transaction() as cur:
                shares.merge(cur, f'"{part}"', projections)


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
    """A worker process: replays its share of the episodes into its part."""
    tune_gc()
    try:
        result = replay_share(
            job.settings, job.names, job.part, job.index, job.of, job.until,
            progress=lambda done, _total: messages.put(("progress", job.index, done)),
        )  # fmt: skip
        messages.put(("done", job.index, result))
    except BaseException:
        messages.put(("error", job.index, traceback.format_exc()))


def replay_share(
    settings: Settings,
    names: Sequence[str],
    part: str,
    index: int,
    of: int,
    until: int | None = None,
    progress: Progress = lambda done, total: None,
) -> ReplayResult:
    """Worker ``index`` of ``of``: replays its episodes into ``part`` (also one pod of the
    indexed Job, ``routing replay-part``)."""
    service = open_episodes(settings)
    db = open_part(settings, part)
    try:
        projections = [PROJECTIONS[n](settings) for n in names]
        keep = shares.keeps(index, of)
        result = replay(service, db, projections, until=until, keep=keep, progress=progress)
        shares.mark_done(db, result.position)
        return result
    finally:
        db.close()
        service.close()


def open_part(settings: Settings, part: str) -> ReadModelDB:
    if settings.store is StoreKind.postgres:
        assert settings.postgres_dsn is not None
        return PostgresReadModels(str(settings.postgres_dsn), part, scratch=True)
    return SQLiteReadModels(Path(part), scratch=True)


def part_name(settings: Settings, index: int) -> str:
    if settings.store is StoreKind.postgres:
        return shares.part_schema(settings.replay_schema, index)
    path = settings.replay_sqlite_path
    return str(path.with_name(f"{path.name}.part{index}"))


def remove_part(settings: Settings, part: str) -> None:
    if settings.store is StoreKind.postgres:
        assert settings.postgres_dsn is not None
        with psycopg.connect(str(settings.postgres_dsn), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(part)))
        return
    for suffix in ("", "-wal", "-shm", "-journal"):  # a terminated worker may leave any
        Path(f"{part}{suffix}").unlink(missing_ok=True)
