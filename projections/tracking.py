"""The read models' Kafka positions, on the event sourcing library's tracking interface.

Ingest records its positions with the library's tracking records; the read models used to
keep a table of their own (``projection_positions``) with other names for the same idea.
Now both name positions with ``routing.persistence.positions`` and record them as
``Tracking`` objects. The library's own tracking recorders write through the library's
datastore, so they cannot join the read model's transaction; this recorder writes into
``projection_tracking`` through the view's ``Cursor``, so a page's effects and its position
commit together (exactly once). Semantics are the library's single-row tracking table's
(eventsourcing 9.5 ``SQLiteTrackingRecorder``): one row a name, the value only increases,
and recording a value not above the recorded one is refused with ``IntegrityError``.
"""

from __future__ import annotations

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder

from projections.cursor import Cursor
from projections.db import ReadModelDB
from projections.tables import projection_tracking

_T = projection_tracking
# Strings with named binds, the same on both dialects: on SQLite they go straight to sqlite3.
_RAISE = (
    f"INSERT INTO {_T.name} (application_name, notification_id) VALUES (:name, :value) "
    "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id "
    f"WHERE {_T.name}.notification_id < excluded.notification_id"
)
_READ = f"SELECT notification_id FROM {_T.name} WHERE application_name = :name"


class ReadModelTracking(TrackingRecorder):
    """Tracking records in the read-model database (``projection_tracking``)."""

    def __init__(self, db: ReadModelDB) -> None:
        self.db = db

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.db.transaction() as cur:
            cur.ensure_durable()
            self._insert_tracking(cur, tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.db.transaction() as cur:
            cur.ensure_durable()
            return self._max_tracking_id(cur, application_name)

    @staticmethod
    def _insert_tracking(cur: Cursor, tracking: Tracking) -> None:
        """In the caller's transaction: inserts, or raises the value; refuses a value not
        above the recorded one, as the library does, with one ``ON CONFLICT ... WHERE``
        (a runner records a position per page: three Core statements there were most of a
        live runner's CPU per event at a low rate, benchmarks/kafka.py e2e)."""
        name, value = tracking.application_name, tracking.notification_id
        cur.execute(_RAISE, {"name": name, "value": value})
        if cur.rowcount == 0:
            raise IntegrityError(f"Failed to record tracking for {name} {value}")

    @staticmethod
    def _max_tracking_id(cur: Cursor, application_name: str) -> int | None:
        cur.execute(_READ, {"name": application_name})
        row = cur.fetchone()
        return int(row[0]) if row else None

    @staticmethod
    def _forget(cur: Cursor, consumer: str) -> None:
        """Deletes every position of ``consumer`` (all topics, partitions and generations):
        its read model was emptied or replaced, so the names may be used again from 0."""
        prefix = f"{consumer}:"
        cur.execute(sa.delete(_T).where(_T.c.application_name.startswith(prefix, autoescape=True)))

    @staticmethod
    def _names(cur: Cursor, consumer: str) -> list[str]:
        prefix = f"{consumer}:"
        cur.execute(
            sa.select(_T.c.application_name).where(
                _T.c.application_name.startswith(prefix, autoescape=True)
            )
        )
        return [str(r[0]) for r in cur.fetchall()]
