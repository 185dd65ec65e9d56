"""The what-if in seconds: a policy simulation from the liability read model's decision inputs.

    .venv/bin/python benchmarks/whatif.py --events 1000000                 # SQLite
    .venv/bin/python benchmarks/whatif.py --events 1000000 3000000 --store postgres

For each size: loads that many seeded demo facts (benchmarks/replay.py's seed and year; a
store file or schema under ``--dir`` is reused and topped up), builds the liability read model
by a replay (reused when it is there), then times the what-if (Ds 2023:27 switched off against
the policy in force, every home region, the whole year) by the fast path
(projections/whatif.py), CPU and wall, with progress. Prints the distinct inputs re-decided,
the time per million facts, the projected time for a national year (10-15 M facts) against the
30 s target with its verdict, and with two sizes or more how the time scales. ``--log`` also
times the log path on the smallest size, and checks that both paths give the same answer.

The stores are large (about 3 GB a million facts on SQLite): delete ``--dir`` afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from benchmarks.replay import DSN, END, NATIONAL, SEED, START, raw_read  # noqa: E402
from projections import whatif  # noqa: E402
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels  # noqa: E402
from projections.liability import Liability, create_indexes, create_tables  # noqa: E402
from projections.replay import replay  # noqa: E402
from routing.audit.simulation import Scope  # noqa: E402
from routing.cli import load_demo  # noqa: E402
from routing.config import Settings, StoreKind  # noqa: E402
from routing.episodes.service import CareEpisodes  # noqa: E402
from routing.liability.rulebooks import RulebookPolicy  # noqa: E402
from routing.operations.runtime import tune_gc  # noqa: E402
from routing.reference.catalogue import load_catalogue  # noqa: E402
from routing.reference.regions import load_regions  # noqa: E402
from routing.store import open_episodes  # noqa: E402

TARGET_S = 30.0
POLICIES = (RulebookPolicy(), RulebookPolicy(ds_2023_27_enabled=False))
SCOPE = Scope(frozenset(), START, date(END.year, 12, 31))


def _stores(kind: StoreKind, events: int, args: argparse.Namespace) -> tuple[Settings, ReadModelDB]:
    name = f"whatif_{events // 1000}k"
    if kind is StoreKind.sqlite:
        settings = Settings(store=kind, sqlite_path=args.dir / f"{name}.db")
        return settings, SQLiteReadModels(args.dir / f"{name}-read.db", scratch=True)
    settings = Settings(store=kind, postgres_dsn=args.postgres_dsn, postgres_schema=name)  # type: ignore[arg-type]
    return settings, PostgresReadModels(args.postgres_dsn, f"{name}_read", scratch=True)


def _prepare(kind: StoreKind, service: CareEpisodes, db: ReadModelDB, events: int) -> int:
    """Loads the facts and builds the read model, unless a previous run left them."""
    have = raw_read(service)
    if have < events:
        t = time.perf_counter()
        load_demo(service, episodes=0, seed=SEED, start=START, end=END, events=events - have)
        print(f"[{kind}] loaded {events - have:,} facts in {time.perf_counter() - t:,.0f} s")
    if whatif.fallback_reason(db, None) is not None:
        t = time.perf_counter()
        replay(service, db, [Liability(POLICIES[0], load_catalogue(), load_regions())])
        print(f"[{kind}] liability read model built in {time.perf_counter() - t:,.0f} s")
    t = time.perf_counter()
    with db.transaction() as cur:  # as a runner's start does: a store built before an index
        create_tables(cur)
        create_indexes(cur)
        if kind is StoreKind.postgres:  # statistics for the planner, as autovacuum would give
            cur.execute("ANALYZE liability_decisions")
    if time.perf_counter() - t > 1:
        print(f"[{kind}] indexes (and statistics) made in {time.perf_counter() - t:,.0f} s")
    return raw_read(service)


def _timed(kind: StoreKind, run: object) -> tuple[whatif.Answer, float, float]:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 1 or done == total:
            last[0] = time.perf_counter()
            print(f"[{kind}]   what-if {done:,}/{total:,} decisions", flush=True)

    wall, cpu = time.perf_counter(), time.process_time()
    answer: whatif.Answer = run(progress)  # type: ignore[operator]
    return answer, time.perf_counter() - wall, time.process_time() - cpu


def measure(kind: StoreKind, events: int, args: argparse.Namespace) -> tuple[int, float, float]:
    settings, db = _stores(kind, events, args)
    service = open_episodes(settings)
    try:
        facts = _prepare(kind, service, db, events)
        answer, wall, cpu = _timed(
            kind, lambda p: whatif.simulate(service, db, None, POLICIES, SCOPE, p)
        )
        assert answer.path == whatif.FAST, answer.reason
        print(f"[{kind}] what-if over {facts:,} facts ({answer.reason}): {wall:,.1f} s wall, "
              f"{cpu:,.1f} s CPU; {wall / facts * 1e6:,.2f} s wall per million facts")  # fmt: skip
        if args.log and events == min(args.events):
            log, log_wall, log_cpu = _timed(
                kind, lambda p: whatif.simulate(service, None, None, POLICIES, SCOPE, p)
            )
            same = (log.simulation.regions, log.simulation.changes) == (
                answer.simulation.regions, answer.simulation.changes
            )  # fmt: skip
            print(f"[{kind}] the log path: {log_wall:,.1f} s wall, {log_cpu:,.1f} s CPU; "
                  f"same answer: {same}")  # fmt: skip
        return facts, wall, cpu
    finally:
        service.close()
        db.close()


def report(kind: StoreKind, runs: list[tuple[int, float, float]]) -> None:
    for clock, at in (("wall", 1), ("CPU", 2)):
        facts, seconds = runs[-1][0], runs[-1][at]
        low, high = (n * seconds / facts for n in NATIONAL)
        verdict = "MET" if high < TARGET_S else "NOT MET"
        print(f"[{kind}] national year (10-15 M facts) projected {low:,.1f}-{high:,.1f} s "
              f"{clock}; target < {TARGET_S:.0f} s: {verdict}")  # fmt: skip
    if len(runs) > 1:
        (f0, w0, c0), (f1, w1, c1) = runs[0], runs[-1]
        print(f"[{kind}] scaling {f0:,} -> {f1:,} facts (x{f1 / f0:.1f}): time x{w1 / w0:.1f} "
              f"wall, x{c1 / c0:.1f} CPU (linear: x{f1 / f0:.1f})")  # fmt: skip


def main() -> None:
    tune_gc()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/routing-whatif-bench"))
    parser.add_argument("--postgres-dsn", default=DSN)
    parser.add_argument("--log", action="store_true", help="Also time the log path (smallest).")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    kind = StoreKind(args.store)
    report(kind, [measure(kind, n, args) for n in sorted(args.events)])


if __name__ == "__main__":
    main()
