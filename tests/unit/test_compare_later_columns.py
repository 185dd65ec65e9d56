"""``routing verify`` on a read model written before a column existed: the liability decisions
gained ``inputs`` (what a what-if re-decides from). A live table whose rows lack it, or that
lacks the column, still verifies equal to a replay that fills it; once the live table fills
it, a different value is a difference like any other."""

from __future__ import annotations

from pathlib import Path

from projections.compare import compare
from projections.db import SQLiteReadModels
from projections.liability import Liability, create_tables
from projections.tables import table

ROW = ("e1", "c1", "01", "13", "2026-03", "decided", "physician", "video", 1200, 900, 200, "{}")


def _db(path: Path, inputs: str | None, *, column: bool = True) -> SQLiteReadModels:
    db = SQLiteReadModels(path)
    with db.transaction() as cur:
        create_tables(cur)
        if not column:  # laid out before the column existed
            cur.execute("DROP TABLE liability_decisions")
            cur.execute(
                "CREATE TABLE liability_decisions (episode_id TEXT, contact_id TEXT,"
                " home_region TEXT, care_region TEXT, month TEXT, status TEXT, profession TEXT,"
                " mode TEXT, invoiced_amount BIGINT, provider_reimbursement BIGINT,"
                " patient_fee BIGINT, decision TEXT)"
            )
            cur.execute(
                "INSERT INTO liability_decisions VALUES (:a, :b, :c, :d, :e, :f, :g, :h, :i, :j,"
                " :k, :l)",
                dict(zip("abcdefghijkl", ROW, strict=True)),
            )
        else:
            cur.insert_rows(table("liability_decisions"), [(*ROW, inputs, inputs, inputs, inputs)])
    return db


def _equal(tmp_path: Path, live: SQLiteReadModels, replay_inputs: str | None) -> bool:
    replayed = _db(tmp_path / f"replay-{len(list(tmp_path.iterdir()))}.db", replay_inputs)
    try:
        return compare(live, replayed, Liability.__new__(Liability)).equal
    finally:
        replayed.close()
        live.close()


def test_live_rows_without_inputs_verify_equal(tmp_path: Path) -> None:
    assert _equal(tmp_path, _db(tmp_path / "live.db", None), "v1:x")


def test_live_table_without_the_column_verifies_equal(tmp_path: Path) -> None:
    assert _equal(tmp_path, _db(tmp_path / "live.db", None, column=False), "v1:x")


def test_filled_inputs_are_compared(tmp_path: Path) -> None:
    assert not _equal(tmp_path, _db(tmp_path / "live.db", "v1:y"), "v1:x")
    assert _equal(tmp_path, _db(tmp_path / "live2.db", "v1:x"), "v1:x")
