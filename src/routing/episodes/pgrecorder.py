"""PostgreSQL recorder that sends stored events to the server in binary.

The library passes the batch as an array of a composite type; psycopg's default text dumper
escapes every field with regular expressions (about 90 µs a stored event here), the binary
dumper does not. Same statement, same table lock and NOTIFY, same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg.sql import SQL, Composable, Composed


class BinaryInsertProcessRecorder(PostgresProcessRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library's statement, with its one placeholder asking for the binary format.
        self.insert_events_statement = Composed(
            [
                SQL(part.as_string().replace("%s", "%b")) if isinstance(part, SQL) else part
                for part in _flatten(self.insert_events_statement)
            ]
        )

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        curs.execute(self.insert_events_statement, (rows,))

    def existing(self, originator_ids: Sequence[Any]) -> set[Any]:
        """Which of these aggregates have stored events (one query, not one per id)."""
        if not originator_ids:
            return set()
        statement = (
            f"SELECT DISTINCT originator_id FROM {self.datastore.schema}."  # noqa: S608
            f"{self.events_table_name} WHERE originator_id = ANY(%s)"
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (list(originator_ids),))
            return {row["originator_id"] for row in curs.fetchall()}


def _flatten(statement: Composable) -> list[Composable]:
    if isinstance(statement, Composed):
        return [leaf for part in statement for leaf in _flatten(part)]
    return [statement]
