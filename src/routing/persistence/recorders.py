"""Event recorders that keep the hash chain in the same transaction as the events they store.

One subclass per backend of the library's process recorder. Each appends the links of a
write right after inserting its events, inside the write's transaction, while it is the only
writer: SQLite holds the database's write lock once its insert succeeded, PostgreSQL holds the
library's EXCLUSIVE lock on the events table (taken before the insert, which is also what
keeps notification ids in commit order), the in-memory store holds its database lock. So
concurrent writers, threads or processes, take turns and the chain follows the
notification-log order exactly. The PostgreSQL recorder lives beside its binary insert in
``routing.persistence.pgrecorder``.

``plaintext`` is set by the application from its mapper (see ``chain.plaintext_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteProcessRecorder

from routing.persistence.chain import Link, Plaintext, extend, identity
from routing.persistence.migrate import upgrade_store


class ChainedSQLiteProcessRecorder(SQLiteProcessRecorder):
    plaintext: Plaintext = staticmethod(identity)

    def __init__(
        self, datastore: SQLiteDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        self.chain_table = f"{events_table_name}_chain"
        super().__init__(datastore, events_table_name=events_table_name)

    chain_created = False
    """True when this recorder created the chain table (a store older than the chain)."""

    def create_table(self) -> None:
        """The library's tables, then the project's (``routing.persistence.migrate``)."""
        super().create_table()
        self.chain_created = self.chain_table in upgrade_store(
            self.datastore, self.events_table_name
        )

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert (a row at a time, reading each rowid) and tracking record,
        then the links. One ``executemany`` with the rowids computed from
        ``last_insert_rowid()`` saved nothing: CPU time of an ``insert_events``, medians of
        21 alternating rounds, 299/542/3484 µs against the library's 284/558/3511 µs for
        batches of 1/10/100, within the quartiles (``python benchmarks/overrides.py --only
        stores``), so the override was removed."""
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            self._append_links(c, list(zip(ids, stored_events, strict=True)))
        return ids

    def _append_links(self, c: SQLiteCursor, rows: list[tuple[int, Any]]) -> None:
        c.execute(
            f"SELECT position, previous_position, digest FROM {self.chain_table} "  # noqa: S608
            "ORDER BY position DESC LIMIT 1"
        )
        found = c.fetchone()
        head = Link(found[0], found[1], found[2]) if found else None
        links = extend(head, rows, self.plaintext)
        c.executemany(
            f"INSERT INTO {self.chain_table} (position, previous_position, digest) "  # noqa: S608
            "VALUES (?, ?, ?)",
            [(k.position, k.previous_position, k.digest) for k in links],
        )

    def chain_links(self, after: int, limit: int) -> list[Link]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT position, previous_position, digest FROM {self.chain_table} "  # noqa: S608
                "WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            )
            return [Link(int(r[0]), int(r[1]), str(r[2])) for r in c.fetchall()]

    def seal_unchained(self, page: int = 5000) -> int:
        """Links a store written before the chain existed (once; returns rows linked).

        Only when this recorder just created the chain table and it is still empty: links
        missing from an existing chain mean tampering, which sealing would hide."""
        if not self.chain_created:
            return 0
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT 1 FROM {self.chain_table} LIMIT 1")  # noqa: S608
            if c.fetchone() is not None:
                return 0
            linked, after = 0, 0
            while True:
                c.execute(
                    f"SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (after, page),
                )
                rows = [(int(r[0]), _Row(r[1], r[2], r[3], r[4])) for r in c.fetchall()]
                if not rows:
                    return linked
                self._append_links(c, rows)
                linked, after = linked + len(rows), rows[-1][0]


class _Row:
    """A stored row read back by SQL (the library's names; SQLite keeps UUIDs as hex)."""

    __slots__ = ("originator_id", "originator_version", "state", "topic")

    def __init__(self, originator_id: Any, version: int, topic: str, state: bytes) -> None:
        self.originator_id = _uuid_text(originator_id)
        self.originator_version, self.topic, self.state = version, topic, bytes(state)


def _uuid_text(value: Any) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        return str(value)


class ChainedPOPOProcessRecorder(POPOProcessRecorder):
    """In memory (unit tests): the chain is a list beside the events."""

    plaintext: Plaintext = staticmethod(identity)

    def __init__(self) -> None:
        super().__init__()
        self.chain: list[Link] = []

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        if ids:
            head = self.chain[-1] if self.chain else None
            self.chain.extend(extend(head, zip(ids, stored_events, strict=True), self.plaintext))
        return ids

    def chain_links(self, after: int, limit: int) -> list[Link]:
        with self._database_lock:
            return [k for k in self.chain if k.position > after][:limit]

    def seal_unchained(self, page: int = 5000) -> int:
        return 0  # a memory store is born with its chain
