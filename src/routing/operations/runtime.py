"""The interpreter's garbage collector, tuned for a process that keeps many objects alive.

The API keeps recently written episodes cached and every request allocates hundreds of small
objects (pydantic models, dicts); projections and replays keep per-episode folds. With the
default thresholds (700, 10, 10) the collector ran so often, over a heap that only grows,
that it took 40 % of the API's CPU in benchmarks/ingest.py (batch ingest into PostgreSQL:
111-147 µs of server CPU an event with the defaults, 75-88 µs tuned) and a fifth of a replay.
Cycles are still collected, less often; what the process loaded at start-up (modules,
reference data) is frozen out of every collection.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 50, 100)


def tune_gc() -> None:
    """Raises the collection thresholds and freezes what exists now (idempotent)."""
    gc.collect()
    gc.set_threshold(*THRESHOLDS)
    gc.freeze()
