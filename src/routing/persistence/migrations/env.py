"""Alembic's entry: runs the scripts on the connection ``migrate.upgrade`` hands over.

The version table is ``alembic_version_store``, in the store's schema: the read models keep
their own Alembic history (``projections/migrations``) and may share the database or file.
"""

from __future__ import annotations

from alembic import context

from routing.persistence.tables import store_metadata

VERSION_TABLE = "alembic_version_store"

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]
context.configure(
    connection=connection,
    target_metadata=store_metadata(schema, config.attributes["events_table"]),
    version_table=VERSION_TABLE,
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()
