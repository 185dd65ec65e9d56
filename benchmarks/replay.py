"""Replay from the event store: raw notification-log read-and-decode rate vs replay rate.

    .venv/bin/python benchmarks/replay.py --events 100000              # sqlite, then postgres
    .venv/bin/python benchmarks/replay.py --events 1000000 --store sqlite \
        --sqlite-path /tmp/replay-1m.db                                # keep the loaded store

For each store, in one run: loads ``--events`` seeded demo events (unless the store given
already holds them), then measures

* raw (after one untimed warm-up pass): reading every fact of the notification log in pages
  and decoding it with the one decode function replay uses (``FactReader``): the baseline;
* replay: ``projections.replay.replay`` of all projections (or ``--projections``) in one
  process into a scratch read-model database, and the ratio replay / raw, target >= 0.3,
  with its verdict; with ``--per-projection`` each projection alone too;
* scale-out: the same replay split by episode hash ranges over N = 1 and ``--workers``
  processes (``projections.parallel``), parts merged: wall time and speed-up;
* what-if: a policy simulation (Ds 2023:27 switched off) over the whole store: by the log,
  with progress, and from the liability read model the replay built (projections/whatif.py),
  with whether both gave the same answer (a small store overstates the read model's projected
  year: its classes grow far slower than the facts; benchmarks/whatif.py measures 1 M and 3 M);
* the time for the store's facts and the projected time for a national year (10-15 M facts).

Each rate is given by the wall clock and by the process's CPU time: on a shared machine
(2 cores, several benchmarks at once) the wall clock measures the neighbours as much as the
code, and CPU-time ratios are the comparable ones (the replay's database work on PostgreSQL
is in the server, not in the process: its CPU ratio flatters it, its wall ratio does not).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from benchmarks import figures  # noqa: E402
from projections import PROJECTIONS, whatif  # noqa: E402
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels  # noqa: E402
from projections.parallel import replay_parallel  # noqa: E402
from projections.replay import replay  # noqa: E402
from routing.audit.reading import FactReader  # noqa: E402
from routing.audit.service import simulate  # noqa: E402
from routing.audit.simulation import Scope, Simulation  # noqa: E402
from routing.cli import load_demo  # noqa: E402
from routing.config import Settings, StoreKind  # noqa: E402
from routing.episodes.service import CareEpisodes  # noqa: E402
from routing.liability.rulebooks import RulebookPolicy  # noqa: E402
from routing.operations.runtime import tune_gc  # noqa: E402
from routing.store import open_episodes  # noqa: E402

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED, START, END = 2026, date(2025, 1, 1), date(2026, 1, 1)
TARGET = 0.3
NATIONAL = (10_000_000, 15_000_000)


@dataclass(frozen=True)
class Timed:
    facts: int
    wall: float
    cpu: float

    def rates(self) -> tuple[float, float]:
        return self.facts / self.wall, self.facts / max(self.cpu, 1e-9)


def timed(facts: Callable[[], int]) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    n = facts()
    return Timed(n, time.perf_counter() - wall, time.process_time() - cpu)


def raw_read(service: CareEpisodes) -> int:
    return sum(len(page) for page in FactReader(service).pages())


def run(kind: StoreKind, args: argparse.Namespace) -> dict[str, float]:
    """Load (or top up) one store and measure it; returns its figures for ``--json``."""
    tmp = Path(tempfile.mkdtemp(prefix="routing-replay-bench-"))
    schema = args.postgres_schema or f"bench_replay_{uuid.uuid4().hex[:8]}"
    scratch_schema = f"{schema}_scratch"
    if kind is StoreKind.sqlite:
        settings = Settings(store=kind, sqlite_path=args.sqlite_path or tmp / "store.db")
    else:
        settings = Settings(store=kind, postgres_dsn=args.postgres_dsn, postgres_schema=schema)  # type: ignore[arg-type]
    settings = settings.model_copy(
        update={"replay_sqlite_path": tmp / "parallel.db", "replay_schema": scratch_schema}
    )
    try:
        service = open_episodes(settings)
        _load(kind, service, args.events)
        out = measure(kind, settings, service, tmp, args)
        service.close()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if kind is StoreKind.postgres:
            with psycopg.connect(args.postgres_dsn, autocommit=True) as conn:
                drop = [scratch_schema, f"{scratch_schema}_one"]
                drop += [] if args.postgres_schema else [schema]
                for name in drop:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                    )


def _load(kind: StoreKind, service: CareEpisodes, events: int) -> None:
    have = raw_read(service)
    if have < events:
        t = time.perf_counter()
        loaded = load_demo(
            service, episodes=0, seed=SEED, start=START, end=END, events=events - have
        )
        print(f"[{kind}] loaded {loaded:,} events in {time.perf_counter() - t:,.0f} s")


def measure(
    kind: StoreKind, settings: Settings, service: CareEpisodes, tmp: Path, args: Any
) -> dict[str, float]:
    raw_read(service)  # warm-up: the first pass reads the store from disk
    raw = timed(lambda: raw_read(service))
    print(f"[{kind}] store holds {raw.facts:,} facts")
    _line(kind, "raw read-and-decode (FactReader)", raw, None)
    names = args.projections or list(PROJECTIONS)
    groups = [names] + ([[p] for p in names] if args.per_projection else [])
    one, fast = raw, None
    for group in groups:
        db = _scratch(kind, tmp, settings.replay_schema + "_one", args)
        try:
            projections = [PROJECTIONS[p](settings) for p in group]
            result = timed(lambda: replay(service, db, projections).facts)  # noqa: B023
            if group is names and "liability" in group and args.what_if:
                fast = _fast_what_if(kind, service, db, raw.facts)
        finally:
            db.close()
        label = "+".join(group) if len(group) < len(PROJECTIONS) else "all projections"
        _line(kind, f"replay {label}, one process", result, raw)
        one = result if group is names else one
    _national(kind, "replay, one process", one)
    if args.workers > 1:
        _scale_out(kind, settings, names, args.workers, raw)
    if args.what_if:
        log = _what_if(kind, service)
        if fast is not None:
            took, sim = fast
            same = (sim.regions, sim.changes) == (log.regions, log.changes)
            met = _verdict(NATIONAL[1] * took.wall / took.facts < 30)
            _national(kind, "what-if from the read model", took)
            print(f"[{kind}] what-if from the read model: same answer as the log: {same}; "
                  f"a national year under 30 s: {met}")  # fmt: skip
    return {
        "facts": one.facts,
        "raw_facts_per_s_wall": raw.rates()[0],
        "raw_cpu_us_per_fact": raw.cpu / raw.facts * 1e6,
        "replay_facts_per_s_wall": one.rates()[0],
        "replay_cpu_us_per_fact": one.cpu / one.facts * 1e6,
    }


def _scale_out(
    kind: StoreKind, settings: Settings, names: list[str], workers: int, raw: Timed
) -> None:
    walls: dict[int, Timed] = {}
    for n in (1, workers):

        def run_n(n: int = n) -> int:
            db, result = replay_parallel(settings, names, workers=n)
            db.close()
            return result.facts

        walls[n] = timed(run_n)
        rate = walls[n].rates()[0]
        print(
            f"[{kind}] scale-out N={n} (split by episode, merged) "
            f"{rate:>10,.0f} facts/s wall  ratio {rate / raw.rates()[0]:.2f} wall"
            f"  ({walls[n].facts:,} facts in {walls[n].wall:,.1f} s)"
        )
    speedup = walls[1].wall / walls[workers].wall
    print(f"[{kind}] scale-out speed-up N={workers} vs N=1: {speedup:.2f}x")
    _national(kind, f"replay, N={workers} processes", walls[workers], cpu_too=False)


POLICIES = (RulebookPolicy(), RulebookPolicy(ds_2023_27_enabled=False))
SCOPE = Scope(frozenset(), START, END)


def _what_if(kind: StoreKind, service: CareEpisodes) -> Simulation:
    """The what-if by the log: every fact read and folded (routing.audit.service)."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 10 or done == total:
            last[0] = time.perf_counter()
            print(f"[{kind}]   what-if {done:,}/{total:,} store positions", flush=True)

    sims: list[Simulation] = []
    result = timed(lambda: _facts(sims, simulate(service, *POLICIES, SCOPE, progress)))
    wall = result.wall
    print(
        f"[{kind}] what-if by the log (Ds 2023:27 off) over {result.facts:,} facts in "
        f"{wall:,.1f} s wall ({result.cpu:,.1f} s CPU); target < 30 s for a national year: "
        f"{_verdict(NATIONAL[1] * wall / result.facts < 30)}"
    )
    _national(kind, "what-if by the log", result)
    return sims[0]


def _fast_what_if(
    kind: StoreKind, service: CareEpisodes, db: ReadModelDB, facts: int
) -> tuple[Timed, Simulation]:
    """The what-if from the liability read model the replay just built (projections/whatif.py;
    benchmarks/whatif.py measures it at 1 M and 3 M facts): the log path's policies and scope,
    and it must take the read model's path. ``facts``: the store's facts (the answer counts
    store positions, bookkeeping records included)."""
    answers: list[whatif.Answer] = []
    if db.dialect == "postgres":  # statistics for the planner, as autovacuum soon would give
        with db.transaction() as cur:
            cur.execute("ANALYZE liability_decisions")

    def run() -> int:
        answers.append(whatif.simulate(service, db, None, POLICIES, SCOPE))
        return facts

    result = timed(run)
    answer = answers[0]
    assert answer.path == whatif.FAST, answer.reason
    print(f"[{kind}] what-if from the read model ({answer.reason}): {result.wall:,.1f} s wall, "
          f"{result.cpu:,.1f} s CPU", flush=True)  # fmt: skip
    return result, answer.simulation


def _facts(into: list[Simulation], sim: Simulation) -> int:
    into.append(sim)
    return sim.facts


def _national(kind: StoreKind, label: str, t: Timed, cpu_too: bool = True) -> None:
    """The projection for a national year; CPU time only for work in this process."""
    wall, cpu = t.rates()
    low, high = (n / wall / 60 for n in NATIONAL)
    text = (
        f"[{kind}] {label}: {t.facts:,} facts in {t.wall:,.1f} s wall; a national year "
        f"(10-15 M facts) projected {low:,.1f}-{high:,.1f} min wall"
    )
    if cpu_too:
        text += f" ({NATIONAL[0] / cpu / 60:,.1f}-{NATIONAL[1] / cpu / 60:,.1f} min CPU)"
    print(text, flush=True)


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _line(kind: StoreKind, label: str, t: Timed, raw: Timed | None) -> None:
    wall, cpu = t.rates()
    text = f"[{kind}] {label:<48} {wall:>9,.0f} facts/s wall {cpu:>9,.0f} CPU"
    if raw is not None:
        ratio_wall, ratio_cpu = wall / raw.rates()[0], cpu / raw.rates()[1]
        text += (
            f"  ratio {ratio_wall:.2f} wall {ratio_cpu:.2f} CPU, target >= {TARGET}:"
            f" {_verdict(ratio_cpu >= TARGET)}"
        )
    print(text + f"  ({t.facts:,} facts in {t.wall:,.1f} s)", flush=True)


def _scratch(kind: StoreKind, tmp: Path, schema: str, args: argparse.Namespace) -> ReadModelDB:
    if kind is StoreKind.sqlite:
        path = tmp / f"scratch-{uuid.uuid4().hex[:6]}.db"
        return SQLiteReadModels(path, scratch=True)
    return PostgresReadModels(args.postgres_dsn, schema, scratch=True)


def main() -> None:
    tune_gc()  # as every ``routing`` command does (routing.operations.runtime)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--postgres-dsn", default=DSN)
    parser.add_argument("--sqlite-path", type=Path, help="Keep (and reuse) this store file.")
    parser.add_argument("--postgres-schema", help="Keep (and reuse) this store schema.")
    parser.add_argument("--projections", nargs="*", choices=list(PROJECTIONS))
    parser.add_argument("--per-projection", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=2, help="Scale-out: also N=1 and N workers (1: skip)."
    )
    parser.add_argument(
        "--no-what-if", dest="what_if", action="store_false", help="Skip the what-if run."
    )
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    kinds = (
        [StoreKind.sqlite, StoreKind.postgres] if args.store == "all" else [StoreKind(args.store)]
    )
    out = {kind.value: run(kind, args) for kind in kinds}
    figures.write(args.json, {"events": args.events, "stores": out})
    sys.stdout.flush()


if __name__ == "__main__":
    main()
