"""Alembic scripts of the event store's own tables (``routing.persistence.tables``); run by
``routing.persistence.migrate`` whenever a process opens the store, never by hand.

A change of shape is a new file in ``versions/`` (``script.py.mako`` is its template) whose
``down_revision`` is the newest one, and the same change in ``tables.py``:
``tests/integration/test_store_migrations.py`` checks the two agree on both backends.
"""
