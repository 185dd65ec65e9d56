"""Every Prometheus metric of the system, defined once (prometheus-client's default registry).

Each process exposes the ones it moves: the API its request latencies and accepted events;
the relay its lag; the ingest consumer accepted events and dead letters; the projection
runners their lag per partition; a rebuild its progress. ``routing dev`` runs them all in one
process, so its API's /metrics shows all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "routing_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_ACCEPTED = Counter(
    "routing_events_accepted",
    "New facts stored (idempotent replays are not counted), by channel and event type.",
    ["channel", "type"],
)
RELAY_LAG = Gauge(
    "routing_relay_lag_records",
    "Store records after the relay's published position (0 when no fact is waiting).",
)
RELAY_POSITION = Gauge("routing_relay_store_position", "Store position the relay has published.")
RELAY_PUBLISHED = Counter("routing_relay_published", "Facts this relay process published.")
RELAY_EPOCH = Gauge("routing_relay_epoch", "Relay epoch (bumped when the store is republished).")
PROJECTION_LAG = Gauge(
    "routing_projection_lag_messages",
    "Messages of the event topic a projection has still to apply, per partition.",
    ["projection", "partition"],
)
PROJECTION_OFFSET = Gauge(
    "routing_projection_next_offset",
    "Next offset a projection reads, per partition (stored with its read model).",
    ["projection", "partition"],
)
PROJECTION_APPLIED = Counter(
    "routing_projection_messages",
    "Messages of the event topic a projection has consumed (applied or skipped).",
    ["projection"],
)
DEAD_LETTERS = Counter(
    "routing_dead_letters", "Inbound messages sent to the dead-letter topic, by reason.", ["reason"]
)
REBUILD_DONE = Gauge(
    "routing_rebuild_messages_done", "Messages a running rebuild has read.", ["projection"]
)
REBUILD_TOTAL = Gauge(
    "routing_rebuild_messages_to_read", "Messages a running rebuild has to read.", ["projection"]
)
REBUILD_RUNNING = Gauge(
    "routing_rebuild_running", "1 while a rebuild of the projection runs.", ["projection"]
)

INGEST_LOG_REPLACED = Counter(
    "routing_ingest_log_replaced",
    "Times the ingest consumer found the inbound log replaced (a new cluster, or a partition "
    "ending below its stored position) and started again from the new log's beginning.",
)
OFFSET_MISSING = Counter(
    "routing_projection_offset_missing",
    "Times a projection's stored offset was no longer in the log (below the log's start); "
    "each time the read model was rebuilt from the event store.",
    ["projection"],
)


def count_accepted(channel: str, types: Iterable[str]) -> None:
    """Counts stored facts by type; children are cached by the library, labels stay bounded
    (the event catalogue)."""
    counts: dict[str, int] = {}
    for t in types:
        counts[t] = counts.get(t, 0) + 1
    for t, n in counts.items():
        EVENTS_ACCEPTED.labels(channel, t).inc(n)
