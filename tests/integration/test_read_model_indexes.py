"""The region-month indexes the finance reads need belong to the projections that own the
tables: the runners create them, a rebuild's swapped-in tables have them (twice over, no
name left behind to collide with), the names the console used to give them are dropped, and
no console request creates an index. Expected names are the ones the projections declare in
docs/console.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from projections.db import ReadModelDB, open_read_models
from projections.tables import SQLITE_ONLY
from routing.config import Settings
from tests.liability_support import LiabilityHarness
from tests.necessity_support import NecessityHarness
from tests.projection_harness import ProjectionHarness

LIABILITY = [
    "liability_decisions_care_month",
    "liability_decisions_home_month",
    "liability_decisions_unkeyed",
    "liability_decisions_whatif",  # SQLite only (projections/tables.py SQLITE_ONLY)
    "liability_invoice_lines_home_month",
]
NECESSITY = ["necessity_visits_region_month"]
Make = Callable[[Settings, Path], ProjectionHarness]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest) -> Settings:
    found: Settings = request.getfixturevalue(f"{request.param}_settings")
    return found


def indexes(db: ReadModelDB) -> list[str]:
    """The read models' secondary indexes (primary keys left out)."""
    if db.dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    with db.transaction() as cur:
        cur.execute(query)
        names = [str(r[0]) for r in cur.fetchall()]
    return sorted(n for n in names if "pkey" not in n)  # a renamed table keeps "__rebuild_pkey"


def on_its_store(db: ReadModelDB, names: list[str]) -> list[str]:
    return names if db.dialect == "sqlite" else [n for n in names if n not in SQLITE_ONLY]


def mine(db: ReadModelDB) -> list[str]:
    return [n for n in indexes(db) if re.match(r"(liability|necessity|console)_", n)]


@pytest.mark.parametrize(
    ("make", "expected"), [(LiabilityHarness, LIABILITY), (NecessityHarness, NECESSITY)]
)
def test_runner_and_rebuild_create_the_indexes(
    settings: Settings, tmp_path: Path, make: Make, expected: list[str]
) -> None:
    harness = make(settings, tmp_path)
    expected = on_its_store(harness.db, expected)
    try:
        assert mine(harness.db) == expected  # the runner's start created them
        harness.rebuild()
        assert mine(harness.db) == expected  # on the swapped-in tables, under the live names
        harness.rebuild()  # nothing left behind that a second rebuild collides with
        assert mine(harness.db) == expected
    finally:
        harness.close_all()


def test_the_console_names_are_dropped(settings: Settings, tmp_path: Path) -> None:
    """A read model indexed by an earlier console keeps one copy of each index, not two."""
    harness = LiabilityHarness(settings, tmp_path)
    try:
        with harness.db.transaction() as cur:
            cur.execute("CREATE INDEX console_liability_home ON liability_decisions (home_region)")
        harness.rebuild()
        assert mine(harness.db) == on_its_store(harness.db, LIABILITY)
    finally:
        harness.close_all()


def test_no_console_request_creates_an_index(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings.model_copy(
        update={"projections_sqlite_path": tmp_path / "projections.db"}
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        page = client.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        fields = {"csrf": token.group(1), "role": "auditor"}
        assert client.post("/console/login/dev", data=fields).status_code == 303
        for path in ("/console/liability?region=01&month=2026-09",
                     "/console/liability/contacts?region=01&month=2026-09",
                     "/console/necessity?region=01&month=2026-09"):  # fmt: skip
            assert client.get(path).status_code == 200, path
    db = open_read_models(settings)
    try:
        assert mine(db) == []  # the tables are there (readers make them), their indexes not
    finally:
        db.close()
