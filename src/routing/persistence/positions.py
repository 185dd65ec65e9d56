"""One name for a consumer's position on a Kafka topic partition, stored as the library's
tracking records (``eventsourcing.persistence.Tracking``).

A position is the next offset to read (offset + 1 of the last message applied), recorded in
the same transaction as what the message caused, so a redelivered message is recognised.
The library's tracking table keeps one row a name whose offsets only increase; a log that was
replaced starts again at offset 0, so each *generation* of the log (ingest: the inbound log
was replaced; projections: the relay's epoch) gets names of its own. The first generation
keeps the names written before generations existed, so stores written then keep their
positions.

The consumer comes first in the name (``ingest``, or a projection's name), so two consumers
of the same topic never share a position. It lives in the persistence package so that the
ingest consumer (``routing.messaging``) and the read models (``projections``, a layer above)
name positions with the same function.
"""

from __future__ import annotations

from eventsourcing.persistence import Tracking


def position_name(consumer: str, topic: str, partition: int, generation: int = 1) -> str:
    """``consumer:topic:partition``, with ``@generation`` from the second generation on."""
    if ":" in consumer or "@" in consumer:
        raise ValueError(f"a consumer's name may hold neither ':' nor '@': {consumer!r}")
    base = f"{consumer}:{topic}:{partition}"
    return base if generation == 1 else f"{base}@{generation}"


def position(
    consumer: str, topic: str, partition: int, generation: int, next_offset: int
) -> Tracking:
    """The tracking record saying ``consumer`` has applied ``partition`` up to
    ``next_offset`` (exclusive) in this generation of the log."""
    return Tracking(position_name(consumer, topic, partition, generation), next_offset)
