"""The HTTP benchmarks with both trees' servers up at once, lane.py's method, for before_after.py.

A run of ingest.py or decisions.py starts a fresh server, so a comparison of two trees puts
tens of seconds between the two sides' measurements. Here one API server per tree (each its
own SQLite store, its working directory and PYTHONPATH the tree) is started once, warmed up,
and then driven in short alternating rounds with the same requests (``benchmarks.lane``'s
single events, 100-event batches and decisions); the figure is the server process's CPU time
per request. Each round yields one figures dict per tree, the shape before_after.py reads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from benchmarks.lane import batches, decisions, events
from benchmarks.loadgen import Server

Load = Callable[[Server, float, int], tuple[float, int]]
LOADS: tuple[tuple[str, Load, int], ...] = (
    ("decisions", decisions, 32),
    ("events", events, 16),
    ("batch100", batches, 4),
)


class TreeLike(Protocol):
    """before_after.Tree: a name, a checkout, the environment that imports from it."""

    @property
    def name(self) -> str: ...

    @property
    def root(self) -> Path: ...

    def env(self) -> dict[str, str]: ...


def _checked(server: Server, tree: TreeLike) -> dict[str, str]:
    """Where the server process runs from and imports from, refused if not the tree's."""
    cwd = os.readlink(f"/proc/{server.proc.pid}/cwd")
    environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes().split(b"\0")
    path = next((e[11:].decode() for e in environ if e.startswith(b"PYTHONPATH=")), "")
    if Path(cwd) != tree.root or not path.startswith(str(tree.root / "src")):
        raise SystemExit(f"server for {tree.name} runs from {cwd} with PYTHONPATH {path}")
    return {"cwd": cwd, "PYTHONPATH": path}


def measure(trees: Sequence[TreeLike], rounds: int, seconds: float) -> list[dict[str, Any]]:
    """One figures dict per tree and round, in the order run: ``{"tree", "round", ...}``."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="routing-side-by-side-") as tmp:
        servers: dict[str, Server] = {}
        try:
            for tree in trees:
                env = tree.env() | {
                    "ROUTING_STORE": "sqlite",
                    "ROUTING_SQLITE_PATH": f"{tmp}/s-{tree.name}.db",
                    "ROUTING_PROJECTIONS_SQLITE_PATH": f"{tmp}/p-{tree.name}.db",
                }
                servers[tree.name] = Server(env, Path(tmp) / f"{tree.name}.log", root=tree.root)
            code = {}
            for tree in trees:
                server = servers[tree.name]
                server.wait_healthy()
                code[tree.name] = _checked(server, tree)
                for _, load, conns in LOADS:
                    load(server, 2, conns)  # warm-up, both trees alike
            for rnd in range(rounds):
                row = {t.name: {"tree": t.name, "round": rnd, "code": code[t.name]} for t in trees}
                order = list(trees) if rnd % 2 == 0 else list(trees)[::-1]
                for what, load, conns in LOADS:
                    for tree in order:
                        cpu, n = load(servers[tree.name], seconds, conns)
                        row[tree.name][f"{what}_cpu_us"] = cpu / n * 1e6
                        row[tree.name][f"{what}_per_s"] = n / seconds
                out += [row[t.name] for t in order]
        finally:
            for server in servers.values():
                server.stop()
    return out
