"""PostgreSQL recorder that sends stored events to the server in binary.

The library passes the batch as an array of a composite type; psycopg's default text dumper
escapes every field with regular expressions (about 90 µs a stored event here), the binary
dumper does not. Same statement, same table lock and NOTIFY, same results.

It also keeps the audit hash chain (``routing.persistence.chain``) in the same transaction: the
links are appended right after the insert, under the library's EXCLUSIVE lock on the events
table, so writers in several processes take turns and the chain follows the notification
log's order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from psycopg.sql import SQL, Composable, Composed, Identifier
from tenacity import RetryCallState

from routing.operations.resilience import RECONNECT_SECONDS, briefly
from routing.persistence.chain import Link, Plaintext, extend, identity
from routing.persistence.migrate import upgrade_store


def _check_pool(state: RetryCallState) -> None:
    """After a transient error: every idle connection of the pool is tested and a broken one
    replaced (psycopg_pool's ``check``), so the retry does not meet the next broken one. The
    library's pool does not test connections on checkout (a round trip on every write)."""
    recorder = state.args[0]
    with contextlib.suppress(Exception):  # the server may still be away: the retry says so
        recorder.datastore.pool.check()


def _briefly(method: Any) -> Any:
    """The library's method without its own retry (``__wrapped__``), under the shared one."""
    return briefly(method.__wrapped__, before_retry=_check_pool)


class BinaryInsertProcessRecorder(PostgresProcessRecorder):
    plaintext: Plaintext = staticmethod(identity)

    # The library tries these ten times, 0.2 s apart, each attempt waiting up to the pool's
    # timeout for a connection: through a PostgreSQL restart a request hung for tens of
    # seconds, then failed. The same methods under the shared policy: a stale connection is
    # replaced and the call tried again at once, but within seconds the error goes up (the
    # API answers 503 with Retry-After; a worker starts again with backoff).
    insert_events = _briefly(PostgresApplicationRecorder.insert_events)
    select_events = _briefly(PostgresAggregateRecorder.select_events)
    select_notifications = _briefly(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _briefly(PostgresApplicationRecorder.max_notification_id)
    insert_tracking = _briefly(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = _briefly(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = _briefly(PostgresTrackingRecorder.has_tracking_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pool's background reconnection backs off without a bound (1 s, 2 s, 4 s...):
        # after a long outage the store would come back long after PostgreSQL. Given up
        # early, the next call that wants a connection makes one at once (projections/db.py).
        self.datastore.pool.reconnect_timeout = RECONNECT_SECONDS
        self.chain_table = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(f"{self.events_table_name}_chain")
        )
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

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's fetch of the new notification ids, then the links. Reading the ids
        as tuples rather than the library's dict rows saved nothing beyond the noise: client
        CPU time of an ``insert_events``, medians of 21 alternating rounds, 1201/1554/3175 µs
        against the library's 1335/1628/3138 µs for batches of 1/10/100, within the quartiles
        (``python benchmarks/overrides.py --only stores --postgres DSN``), so the override
        was removed."""
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            self._append_links(curs, list(zip(ids, stored_events, strict=True)))
        return ids

    def _append_links(self, curs: Any, rows: list[tuple[int, Any]]) -> None:
        """Runs while this transaction holds the events table's EXCLUSIVE lock."""
        curs.execute(
            SQL(
                "SELECT position, previous_position, digest FROM {} ORDER BY position DESC LIMIT 1"
            ).format(self.chain_table)
        )
        found = curs.fetchone()
        head = (
            Link(found["position"], found["previous_position"], found["digest"]) if found else None
        )
        links = extend(head, rows, self.plaintext)
        # One statement over three arrays (executemany would be a round of its own per link),
        # each sent as one comma-separated string: psycopg's list dumper adapts element by
        # element in Python, a tenth of a batch's time; digits and hex need no quoting.
        curs.execute(
            SQL(
                "INSERT INTO {} (position, previous_position, digest) "
                "SELECT * FROM unnest(string_to_array(%s, ',')::bigint[],"
                " string_to_array(%s, ',')::bigint[], string_to_array(%s, ','))"
            ).format(self.chain_table),
            (
                ",".join([str(k.position) for k in links]),
                ",".join([str(k.previous_position) for k in links]),
                ",".join([k.digest for k in links]),
            ),
        )

    def chain_links(self, after: int, limit: int) -> list[Link]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT position, previous_position, digest FROM {} "
                    "WHERE position > %s ORDER BY position LIMIT %s"
                ).format(self.chain_table),
                (after, limit),
            )
            return [
                Link(r["position"], r["previous_position"], r["digest"]) for r in curs.fetchall()
            ]

    chain_created = False
    """True when this recorder created the chain table (a store older than the chain)."""

    def create_table(self) -> None:
        """The library's tables, then the project's (``routing.persistence.migrate``)."""
        super().create_table()
        created = upgrade_store(self.datastore, self.events_table_name)
        self.chain_created = f"{self.events_table_name}_chain" in created

    def seal_unchained(self, page: int = 5000) -> int:
        """Links a store written before the chain existed (once: only when this recorder just
        created the chain table and it is still empty; links missing from an existing chain
        mean tampering, which sealing would hide)."""
        if not self.chain_created:
            return 0
        events = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(self.chain_table))
            if curs.fetchone() is not None:
                return 0
            linked, after = 0, 0
            while True:
                curs.execute(
                    SQL(
                        "SELECT notification_id, originator_id, originator_version, topic, state"
                        " FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
                    ).format(events),
                    (after, page),
                )
                rows = [(int(r["notification_id"]), _Row(r)) for r in curs.fetchall()]
                if not rows:
                    return linked
                self._append_links(curs, rows)
                linked, after = linked + len(rows), rows[-1][0]

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


class _Row:
    __slots__ = ("originator_id", "originator_version", "state", "topic")

    def __init__(self, r: Any) -> None:
        self.originator_id, self.originator_version = r["originator_id"], r["originator_version"]
        self.topic, self.state = r["topic"], bytes(r["state"])


def _flatten(statement: Composable) -> list[Composable]:
    if isinstance(statement, Composed):
        return [leaf for part in statement for leaf in _flatten(part)]
    return [statement]
