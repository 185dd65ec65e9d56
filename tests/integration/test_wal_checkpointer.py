"""The SQLite store's background checkpointer keeps the write-ahead log short."""

from __future__ import annotations

import time
from pathlib import Path

from routing.config import Settings, StoreKind
from routing.episodes.events import parse_event
from routing.store import open_episodes
from tests import support as f
from tests.auth_support import TEST_KEYS


def test_the_log_is_checkpointed_while_writing_and_the_thread_stops_on_close(
    tmp_path: Path,
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        store=StoreKind.sqlite, sqlite_path=tmp_path / "store.db", _env_file=None, **TEST_KEYS
    )
    service = open_episodes(settings)
    (checkpointer,) = [s.__self__ for s in service.on_close]  # type: ignore[attr-defined]
    for _ in range(40):
        service.record_batch([parse_event(b) for b in f.typical_journey()])
    deadline = time.monotonic() + 5
    while checkpointer.checkpoints < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints >= 3
    wal = tmp_path / "store.db-wal"
    assert wal.stat().st_size < 1000 * 4096  # below SQLite's own checkpoint threshold
    service.close()
    assert not checkpointer._thread.is_alive()
