"""The fault figures of issue 15, gathered from the fault tier.

Runs ``tests/faults`` (or the tests named with ``-k``) and prints one row per fault run from
the ``FAULT-FIGURES`` line each test prints: the recovery time from the dependency's (or the
killed process's) return to the API's ``/ready`` 200 with lag 0, and the events accepted,
stored, projected, lost and double-counted. The tests assert the outcomes; this only collects
what they measured. Needs the fault tier's dependencies (PostgreSQL server binaries: source
``scripts/_postgres_server.sh``; the shared PostgreSQL on 127.0.0.1:5432)::

    .venv/bin/python benchmarks/faults.py                       # every fault test, ~10 min
    .venv/bin/python benchmarks/faults.py -k "under_load"       # the stack under load only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

COLUMNS = [
    ("fault", "fault"),
    ("recovery_seconds", "ready + lag 0 (s)"),
    ("ready_after_s", "/ready 200 (s)"),
    ("accepted", "accepted (HTTP 2xx)"),
    ("inbound", "inbound"),
    ("stored", "stored"),
    ("projected", "projected"),
    ("lost", "lost"),
    ("double_counted", "double"),
    ("verify_equal", "verify equal"),
]


def collect(output: str) -> list[dict[str, Any]]:
    marker = "FAULT-FIGURES "
    return [json.loads(line.split(marker, 1)[1]) for line in output.splitlines() if marker in line]


def row(figures: dict[str, Any]) -> str:
    """A table row; a figure the test does not measure is blank, the rest go to ``other``."""
    known = {key for key, _ in COLUMNS}
    cells = ["" if figures.get(k) is None else str(figures[k]) for k, _ in COLUMNS]
    other = {k: v for k, v in figures.items() if k not in known}
    return "| " + " | ".join([*cells, json.dumps(other, sort_keys=True) if other else ""]) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default=None, help="pytest -k expression (default: all)")
    parser.add_argument("--output", default=None, help="a file for pytest's whole output")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
               "tests/faults"] + (["-k", args.k] if args.k else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if args.output:
        with open(args.output, "w") as f:
            f.write(done.stdout + done.stderr)
    rows = collect(done.stdout)
    print("| " + " | ".join([title for _, title in COLUMNS] + ["other"]) + " |")
    print("|" + "---|" * (len(COLUMNS) + 1))
    for figures in rows:
        print(row(figures))
    lines = done.stdout.splitlines()
    summary = [line for line in lines if " passed" in line or " failed" in line]
    print("\n" + (summary[-1] if summary else done.stdout[-2000:] + done.stderr[-2000:]))
    for line in lines:  # what failed, named (the tests' own messages are in pytest's output)
        if line.startswith(("FAILED ", "ERROR ")):
            print(line[:300])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
