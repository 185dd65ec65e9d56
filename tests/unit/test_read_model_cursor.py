"""Issue 19: the read models' cursor speaks named binds only, and its helpers write what the
hand-written SQL did (SQLite here; tests/integration/test_migrations.py covers PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from projections.cursor import DriverPlaceholderError
from projections.db import SQLiteReadModels
from projections.tables import table


def test_a_driver_style_placeholder_is_refused_not_rewritten(tmp_path: Path) -> None:
    db = SQLiteReadModels(tmp_path / "rm.db")
    with db.transaction() as cur, pytest.raises(DriverPlaceholderError, match=":name"):
        cur.execute("SELECT %s", ("x",))  # type: ignore[arg-type]
    with db.transaction() as cur, pytest.raises(DriverPlaceholderError):
        cur.execute(sa.text("SELECT 1 WHERE 'a' = %s"))
    with db.transaction() as cur:
        assert cur.execute("SELECT :a || :b", {"a": "x", "b": "y"}).scalar() == "xy"
    db.close()


def test_upsert_and_insert_rows_keep_one_row_per_key(tmp_path: Path) -> None:
    db = SQLiteReadModels(tmp_path / "rm.db")
    summary = table("episode_summary", "__t")
    with db.transaction() as cur:
        cur.create(summary)
        cur.insert_rows(summary, [("14", "01", "video", "2025-10", 2)])
        key = ["home_region", "care_region", "mode", "month"]
        row = {"home_region": "14", "care_region": "01", "mode": "video", "month": "2025-10"}
        cur.upsert(summary, {**row, "contacts": 5}, key, {"contacts": summary.c.contacts + 5})
        cur.upsert(summary, {**row, "contacts": 1}, key)  # DO NOTHING
        cur.execute(sa.select(summary.c.contacts))
        assert [tuple(r) for r in cur.fetchall()] == [(7,)]
    db.close()
