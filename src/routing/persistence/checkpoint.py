"""Keeps a SQLite store's write-ahead log short from a background thread.

SQLite checkpoints the WAL inside whichever commit takes it past 1,000 pages; that commit
then copies the log into the database and syncs it, tens of milliseconds during which every
group-committed request waits (the p99 of benchmarks/decisions.py). A PASSIVE checkpoint
from another connection does the same work without blocking writers, so done every fraction
of a second it keeps the log below the threshold and the commits short. Durability is
unchanged: each commit is still synced to the WAL (synchronous=FULL).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, path: Path, interval: float = 0.1) -> None:
        self.path, self.interval = path, interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.OperationalError as exc:  # busy: the next round will do
                    log.debug("wal checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
