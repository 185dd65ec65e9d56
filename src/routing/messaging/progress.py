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
from routing.persistence.tables import progress_statements


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


class ProgressStore:
    """Reads and writes RelayProgress and IngestProgress through the library's own datastore
    (SQLite or PostgreSQL); the in-memory store keeps them in dicts.

    The tables are the store's own (``routing.persistence.tables``), brought to their shape
    when the store was opened (``routing.persistence.migrate``); the statements are compiled
    from their declaration once per backend and run on the library's cursors."""

    def __init__(self, service: CareEpisodes) -> None:
        self.datastore: Any = getattr(service.factory, "datastore", None)
        self._memory: dict[str, RelayProgress] = {}
        self._ingest: dict[str, IngestProgress] = {}
        if self.datastore is not None:
            self.sql = progress_statements(getattr(self.datastore, "schema", None))

    def _row(self, statement: str, topic: str) -> Any:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, {"topic": topic})
            return cursor.fetchone()

    def _write(self, statement: str, values: dict[str, Any]) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(statement, values)

    def load_ingest(self, topic: str) -> IngestProgress:
        if self.datastore is None:
            return self._ingest.get(topic, IngestProgress(topic))
        row = self._row(self.sql.load_ingest, topic)
        if row is None:
            return IngestProgress(topic)
        return IngestProgress(topic, int(row["generation"]), row["cluster_id"])

    def save_ingest(self, p: IngestProgress) -> None:
        if self.datastore is None:
            self._ingest[p.topic] = p
            return
        values = {"topic": p.topic, "generation": p.generation, "cluster_id": p.cluster_id}
        self._write(self.sql.save_ingest, values)

    def load(self, topic: str) -> RelayProgress:
        if self.datastore is None:
            return self._memory.get(topic, RelayProgress(topic))
        row = self._row(self.sql.load_relay, topic)
        if row is None:
            return RelayProgress(topic)
        probe = None
        if row["probe_partition"] is not None:
            probe = Probe(
                int(row["probe_partition"]), int(row["probe_offset"]), str(row["probe_event_id"])
            )
        return RelayProgress(
            topic, int(row["position"]), int(row["epoch"]), row["cluster_id"], probe
        )

    def save(self, p: RelayProgress) -> None:
        if self.datastore is None:
            self._memory[p.topic] = p
            return
        probe = p.probe
        self._write(
            self.sql.save_relay,
            {
                "topic": p.topic,
                "position": p.position,
                "epoch": p.epoch,
                "cluster_id": p.cluster_id,
                "probe_partition": probe.partition if probe else None,
                "probe_offset": probe.offset if probe else None,
                "probe_event_id": probe.event_id if probe else None,
            },
        )
