"""How far the relay has published, kept in the event store's own database.

Besides the store position, it remembers which broker it published to (cluster id), where the
last acknowledged message landed (partition, offset, event id: the probe), and the relay
epoch. A broker that answers with another cluster id, or no longer holds the probe message at
its offset, has lost its log: the relay then starts a new epoch and republishes the store from
the beginning. (End offsets alone cannot tell: the bundled broker under-reports them.)

The ingest consumer keeps its own line here (``IngestProgress``): the cluster it reads from
and its *generation*, bumped when the inbound log was replaced, which names the tracking
records its positions are stored under (a new log starts again at offset 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from routing.episodes.service import CareEpisodes
from routing.store import DDL_LOCK


@dataclass(frozen=True)
class Probe:
    """The last message the broker acknowledged: it must still be there."""

    partition: int
    offset: int
    event_id: str


@dataclass(frozen=True)
class RelayProgress:
    topic: str
    position: int = 0
    epoch: int = 1
    cluster_id: str | None = None
    probe: Probe | None = None

    def restarted(self, cluster_id: str) -> RelayProgress:
        """A new epoch from the start of the store, on the broker that is there now."""
        return replace(self, position=0, epoch=self.epoch + 1, cluster_id=cluster_id, probe=None)


@dataclass(frozen=True)
class IngestProgress:
    """Which inbound log the stored positions belong to."""

    topic: str
    generation: int = 1
    cluster_id: str | None = None

    def replaced(self, cluster_id: str) -> IngestProgress:
        """A new log: positions start again at its beginning, under a new generation."""
        return replace(self, generation=self.generation + 1, cluster_id=cluster_id)


_CREATE_INGEST = """
CREATE TABLE IF NOT EXISTS {table} (
    topic TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    cluster_id TEXT
)"""

_CREATE = """
CREATE TABLE IF NOT EXISTS {table} (
    topic TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    epoch INTEGER NOT NULL,
    cluster_id TEXT,
    probe_partition INTEGER,
    probe_offset BIGINT,
    probe_event_id TEXT
)"""


class ProgressStore:
    """Reads and writes RelayProgress through the library's own datastore (SQLite or PostgreSQL);
    the in-memory store keeps it in a dict."""

    def __init__(self, service: CareEpisodes) -> None:
        self.datastore: Any = getattr(service.factory, "datastore", None)
        self._memory: dict[str, RelayProgress] = {}
        self._ingest: dict[str, IngestProgress] = {}
        if self.datastore is None:
            return
        schema = getattr(self.datastore, "schema", None)
        self.postgres = schema is not None
        prefix = f'"{schema}".' if self.postgres else ""
        self.table = f"{prefix}relay_progress"
        self.ingest_table = f"{prefix}ingest_progress"
        self.mark = "%s" if self.postgres else "?"
        with self.datastore.transaction(commit=True) as cursor:
            if self.postgres:  # processes starting together take turns (as open_episodes):
                # two concurrent CREATE TABLE IF NOT EXISTS can fail with a duplicate key
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            cursor.execute(_CREATE.format(table=self.table))
            cursor.execute(_CREATE_INGEST.format(table=self.ingest_table))

    def load_ingest(self, topic: str) -> IngestProgress:
        if self.datastore is None:
            return self._ingest.get(topic, IngestProgress(topic))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT generation, cluster_id FROM {self.ingest_table} WHERE topic = {self.mark}",
                (topic,),
            )
            row = cursor.fetchone()
        if row is None:
            return IngestProgress(topic)
        v = list(row.values()) if isinstance(row, dict) else list(row)
        return IngestProgress(topic, int(v[0]), v[1])

    def save_ingest(self, p: IngestProgress) -> None:
        if self.datastore is None:
            self._ingest[p.topic] = p
            return
        m = self.mark
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self.ingest_table} (topic, generation, cluster_id) "
                f"VALUES ({m}, {m}, {m}) ON CONFLICT (topic) DO UPDATE SET "
                "generation = excluded.generation, cluster_id = excluded.cluster_id",
                (p.topic, p.generation, p.cluster_id),
            )

    def load(self, topic: str) -> RelayProgress:
        if self.datastore is None:
            return self._memory.get(topic, RelayProgress(topic))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT position, epoch, cluster_id, probe_partition, probe_offset, probe_event_id "
                f"FROM {self.table} "
                f"WHERE topic = {self.mark}",
                (topic,),
            )
            row = cursor.fetchone()
        if row is None:
            return RelayProgress(topic)
        v = list(row.values()) if isinstance(row, dict) else list(row)
        probe = Probe(int(v[3]), int(v[4]), str(v[5])) if v[3] is not None else None
        return RelayProgress(topic, int(v[0]), int(v[1]), v[2], probe)

    def save(self, p: RelayProgress) -> None:
        if self.datastore is None:
            self._memory[p.topic] = p
            return
        m = self.mark
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (topic, position, epoch, cluster_id, "
                "probe_partition, probe_offset, probe_event_id) "
                f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (topic) DO UPDATE SET "
                "position = excluded.position, epoch = excluded.epoch, "
                "cluster_id = excluded.cluster_id, probe_partition = excluded.probe_partition, "
                "probe_offset = excluded.probe_offset, probe_event_id = excluded.probe_event_id",
                (
                    p.topic,
                    p.position,
                    p.epoch,
                    p.cluster_id,
                    *(
                        (p.probe.partition, p.probe.offset, p.probe.event_id)
                        if p.probe
                        else (None, None, None)
                    ),
                ),
            )
