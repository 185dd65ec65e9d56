"""Kafka backbone: the outbox relay, the inbound ingest consumer, the bundled broker."""
