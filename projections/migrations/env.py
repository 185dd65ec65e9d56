"""Alembic's environment, programmatic: the connection comes from the caller
(projections/migrate.py), inside its transaction; no ``alembic.ini``."""

from alembic import context

from projections.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA)
with context.begin_transaction():
    context.run_migrations()
