"""CPU per request of the API server, fast lane on vs off, alternating rounds.

    python benchmarks/lane.py [--seconds 5] [--rounds 4]

Two servers (``ROUTING_FAST_LANE`` true and false, each its own SQLite store) are driven in
alternating rounds with the same requests; the figure is the server process's CPU time
(utime + stime from /proc) per request, which a busy shared machine disturbs less than
requests per second. Issue 19: the lane stays only while it saves more than about 10 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # import as the benchmarks package

from benchmarks.decisions import measure  # noqa: E402
from benchmarks.ingest import batch_supply, single_supply  # noqa: E402
from benchmarks.loadgen import Server, run_load  # noqa: E402
from benchmarks.stores import server_cpu_seconds  # noqa: E402


def events(server: Server, seconds: float, conns: int) -> tuple[float, int]:
    supply = single_supply(server.port)
    streams = supply.streams(conns, int(4000 * seconds))
    c0 = server_cpu_seconds(server.proc.pid)
    r = run_load(server.port, streams, seconds, lambda: supply.made_live)
    return server_cpu_seconds(server.proc.pid) - c0, r.events


def batches(server: Server, seconds: float, conns: int) -> tuple[float, int]:
    """CPU per request of 100-event batches (``events`` counts events: divide by 100)."""
    supply = batch_supply(server.port, 100)
    streams = supply.streams(4, int(40 * seconds))
    c0 = server_cpu_seconds(server.proc.pid)
    r = run_load(server.port, streams, seconds, lambda: supply.made_live)
    return server_cpu_seconds(server.proc.pid) - c0, r.requests


def decisions(server: Server, seconds: float, conns: int) -> tuple[float, int]:
    c0 = server_cpu_seconds(server.proc.pid)
    _, lat = measure(server, "decisions", seconds, conns)
    return server_cpu_seconds(server.proc.pid) - c0, len(lat)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--conns", type=int, default=32)
    a = p.parse_args()
    res: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {}
        for lane in ("true", "false"):
            env = {
                "ROUTING_STORE": "sqlite",
                "ROUTING_SQLITE_PATH": f"{tmp}/s-{lane}.db",
                "ROUTING_PROJECTIONS_SQLITE_PATH": f"{tmp}/p-{lane}.db",
                "ROUTING_FAST_LANE": lane,
            }
            servers[lane] = Server(env, Path(tmp) / f"{lane}.log")
        try:
            for s in servers.values():
                s.wait_healthy()
                decisions(s, 2, a.conns)
                events(s, 2, a.conns)
            for rnd in range(a.rounds):
                order = ("true", "false") if rnd % 2 == 0 else ("false", "true")
                for what, fn in (
                    ("decisions", decisions),
                    ("events", events),
                    ("batch100", batches),
                ):
                    for lane in order:
                        cpu, n = fn(servers[lane], a.seconds, a.conns)
                        us = cpu / n * 1e6
                        res.setdefault((what, lane), []).append(us)
                        print(
                            f"round {rnd} {what:<9} lane={lane:<5} {n:>7} req "
                            f"{n / a.seconds:>7.0f}/s  server CPU {us:6.1f} us/req",
                            flush=True,
                        )
        finally:
            for s in servers.values():
                s.stop()
    for what in ("decisions", "events", "batch100"):
        on = statistics.median(res[(what, "true")])
        off = statistics.median(res[(what, "false")])
        print(
            f"{what}: median server CPU/request lane on {on:.1f} us, off {off:.1f} us, "
            f"gain {(off - on) / off * 100:.1f} %"
        )


if __name__ == "__main__":
    main()
