"""Migrations (Alembic) for the durable read-model tables; run where they used to be created.

Durable: the tables no replay or rebuild writes again from the log (``tables.DURABLE``: the
access trail, the projections' positions and epochs). Their shape changes only through a
revision in projections/migrations/versions/, applied by ``upgrade`` in the transaction of
the first read-model access that needs them (once per database and process). The view
tables are not migrated: they are a function of the log, so a changed view is dropped and
replayed (``routing replay``/``rebuild``), and they stay created from their declarations.

A database written before migrations existed (durable tables present, no ``alembic_version``)
is adopted: its tables are checked against the baseline's (a trail from before statuses
were kept gets its ``status`` column, as the old code added it), missing ones are created,
and it is stamped at the baseline. Alembic's ``env.py`` takes the connection from the
``Config`` (no ``alembic.ini`` at runtime).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

_BASE = sa.MetaData()


def _key(name: str, kind: type[sa.types.TypeEngine[Any]] = sa.Text) -> sa.Column[Any]:
    return sa.Column(name, kind, primary_key=True)


def _col(name: str, kind: type[sa.types.TypeEngine[Any]] = sa.Text) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=name in ("region", "status"))


BASELINE_TABLES = (
    sa.Table(
        "access_trail", _BASE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        *(_col(c) for c in ("at", "subject", "roles", "region", "kind", "method", "path",
                            "query")),
        _col("status", sa.Integer), sqlite_autoincrement=True,
    ),
    sa.Table(
        "projection_positions", _BASE, _key("projection"), _key("topic"),
        _key("part", sa.Integer), _col("next_offset", sa.BigInteger),
    ),
    sa.Table("projection_epochs", _BASE, _key("projection"), _col("epoch", sa.Integer)),
    sa.Table(
        "projection_store_positions", _BASE, _key("projection"), _key("topic"),
        _key("part", sa.Integer), _col("store_position", sa.BigInteger),
    ),
)  # fmt: skip
"""The durable tables as the baseline (0001) left them, which adoption compares with (the
declarations in projections/tables.py are the newest revision's)."""

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).with_name("migrations")
BASELINE = "0001"
_ONE_AT_A_TIME = threading.Lock()
"""Alembic's ``context`` is process-global: two threads upgrading two databases at once
would share it (one database's threads are already kept apart by its lock)."""


class AdoptionRefusedError(RuntimeError):
    """Durable tables that do not match the baseline: adopting them would hide the difference."""


def config(conn: sa.Connection) -> Config:
    # Alembic with mako is about 0.5 s of imports: paid by the first read-model transaction
    # that needs the durable tables, not by every CLI command that imports the read models.
    # lazy: start-up
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def current(conn: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext  # lazy: start-up (see config)

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: sa.Connection) -> None:
    """Brings the durable tables to the newest revision, adopting an unversioned database."""
    from alembic import command  # lazy: start-up (see config)

    with _ONE_AT_A_TIME:
        if current(conn) is None:
            adopt(conn)
        command.upgrade(config(conn), "head")


def adopt(conn: sa.Connection) -> bool:
    """Stamps a database the old code laid out at the baseline (True); False when it has
    none of the durable tables (a fresh database: the baseline creates them)."""
    inspector = sa.inspect(conn)
    present = [t for t in BASELINE_TABLES if inspector.has_table(t.name)]
    if not present:
        return False
    for table in present:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        want = {c.name for c in table.columns}
        if table.name == "access_trail" and want - have == {"status"}:
            conn.execute(sa.text("ALTER TABLE access_trail ADD COLUMN status INTEGER"))
            have.add("status")
        keys = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
        if have != want or keys != {c.name for c in table.primary_key}:
            raise AdoptionRefusedError(
                f"{table.name} has columns {sorted(have)} (key {sorted(keys)}); the baseline "
                f"has {sorted(want)} (key {sorted(c.name for c in table.primary_key)})"
            )
    for table in BASELINE_TABLES:
        if table not in present:
            conn.execute(CreateTable(table))
    from alembic import command  # lazy: start-up (see config)

    command.stamp(config(conn), BASELINE)
    return True
