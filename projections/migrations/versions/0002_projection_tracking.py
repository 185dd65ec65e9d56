"""The read models' Kafka positions as the library's tracking records (issue 19).

``projection_positions`` (projection, topic, part → next_offset) becomes
``projection_tracking`` (application_name → notification_id, the library's tracking shape),
named by ``routing.persistence.positions`` as ingest's are: a row ``(p, t, n, o)`` becomes
``p:t:n`` → ``o`` (generation 1 keeps the unsuffixed name). ``projection_epochs`` gains the
generation of the live positions (1 for every existing read model) and may hold a rebuild's
reserved generation before any epoch is known (``epoch`` nullable). Rows of an unfinished
rebuild (``*__rebuild``) are dropped: it starts again. ``projection_store_positions`` stays:
it is the read-your-writes mark and the relay-resend filter, a store position, not a Kafka
offset.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REBUILDING = "%\\_\\_rebuild"


def upgrade() -> None:
    tracking = op.create_table(
        "projection_tracking",
        sa.Column("application_name", sa.Text, primary_key=True, nullable=False),
        sa.Column("notification_id", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("projection_epochs") as epochs:
        epochs.add_column(sa.Column("generation", sa.Integer, nullable=False, server_default="1"))
        epochs.alter_column("epoch", existing_type=sa.Integer, nullable=True)
    conn = op.get_bind()
    for table in ("projection_epochs", "projection_store_positions", "projection_positions"):
        conn.execute(
            sa.text(f"DELETE FROM {table} WHERE projection LIKE :p ESCAPE '\\'"), {"p": REBUILDING}
        )
    rows = conn.execute(
        sa.text("SELECT projection, topic, part, next_offset FROM projection_positions")
    ).fetchall()
    op.bulk_insert(
        tracking,
        [{"application_name": f"{p}:{t}:{n}", "notification_id": int(o)} for p, t, n, o in rows],
    )
    op.drop_table("projection_positions")


def downgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("projection", sa.Text, primary_key=True, nullable=False),
        sa.Column("topic", sa.Text, primary_key=True, nullable=False),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )
    op.drop_table("projection_tracking")  # positions of later generations cannot go back
    with op.batch_alter_table("projection_epochs") as epochs:
        epochs.drop_column("generation")
