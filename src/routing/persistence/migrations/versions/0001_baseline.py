"""Baseline: the tables as the code before Alembic created them (CREATE TABLE IF NOT EXISTS).

A store written by that code is adopted here: a table that is already there is checked
(every column present) and kept with its rows; one that is missing (a store older than the
chain or than ingest progress) is created. The chain table's creation is reported
(``created``): a store older than the chain gets it sealed once (``seal_unchained``).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite keys the chain by its rowid only when the column is spelled INTEGER PRIMARY KEY.
_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tables(chain: str) -> dict[str, list[sa.Column[object]]]:
    return {
        "relay_progress": [
            sa.Column("topic", sa.Text, primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Column("epoch", sa.Integer, nullable=False),
            sa.Column("cluster_id", sa.Text),
            sa.Column("probe_partition", sa.Integer),
            sa.Column("probe_offset", sa.BigInteger),
            sa.Column("probe_event_id", sa.Text),
        ],
        "ingest_progress": [
            sa.Column("topic", sa.Text, primary_key=True),
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("cluster_id", sa.Text),
        ],
        chain: [
            sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
            sa.Column("previous_position", _POSITION, nullable=False),
            sa.Column("digest", sa.Text, nullable=False),
        ],
    }


def upgrade() -> None:
    attributes = context.config.attributes
    schema = attributes["schema"]
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names(schema=schema))
    created = attributes.setdefault("created", set())
    for name, columns in _tables(f"{attributes['events_table']}_chain").items():
        if name not in existing:
            op.create_table(name, *columns, schema=schema)
            created.add(name)
            continue
        found = {c["name"] for c in inspector.get_columns(name, schema=schema)}
        missing = sorted({c.name for c in columns} - found)
        if missing:
            raise RuntimeError(f"cannot adopt table {name}: columns {missing} missing")
