"""Baseline: the durable read-model tables as the hand-written CREATE TABLE code left them.

Frozen here (not imported from projections/tables.py): a later change to the declarations
is a new revision, and this one must keep creating what databases already hold.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, nullable: bool = False, key: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable, primary_key=key)


def upgrade() -> None:
    op.create_table(
        "access_trail",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
            autoincrement=True,
        ),
        _text("at"), _text("subject"), _text("roles"), _text("region", True), _text("kind"),
        _text("method"), _text("path"), _text("query"), sa.Column("status", sa.Integer),
        sqlite_autoincrement=True,
    )  # fmt: skip
    op.create_table(
        "projection_positions",
        _text("projection", key=True), _text("topic", key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )  # fmt: skip
    op.create_table(
        "projection_epochs",
        _text("projection", key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
    )
    op.create_table(
        "projection_store_positions",
        _text("projection", key=True), _text("topic", key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("store_position", sa.BigInteger, nullable=False),
    )  # fmt: skip


def downgrade() -> None:
    for name in (
        "projection_store_positions",
        "projection_epochs",
        "projection_positions",
        "access_trail",
    ):
        op.drop_table(name)
