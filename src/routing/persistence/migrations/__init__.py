"""Alembic scripts of the event store's own tables (``routing.persistence.tables``); run by
``routing.persistence.migrate``, never by hand against a running store."""
