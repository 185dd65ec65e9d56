"""Opening the event store the settings name: the one place that builds a CareEpisodes."""

from __future__ import annotations

import psycopg
from eventsourcing.utils import get_topic
from psycopg import sql

from routing.config import Settings, StoreKind
from routing.episodes.aggregate import CareEpisode
from routing.episodes.service import CareEpisodes
from routing.liability.billing import BillingMonth
from routing.persistence.checkpoint import WalCheckpointer

FACT_TOPICS = (
    get_topic(CareEpisode.Opened),
    get_topic(CareEpisode.FactRecorded),
    get_topic(BillingMonth.Closed),
)
"""Library topics of the store's facts (what the relay publishes, audit reads, projections
count); receipts are bookkeeping and never leave the store. Here, above both the episodes and
liability, whose facts they are, rather than on the recording service (which saves billing
months without knowing them)."""


def ensure_postgres_schema(settings: Settings) -> None:
    """The library creates tables but not schemas; a dedicated schema must exist first."""
    if settings.store is not StoreKind.postgres or not settings.postgres_schema:
        return
    assert settings.postgres_dsn is not None
    with psycopg.connect(str(settings.postgres_dsn), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(settings.postgres_schema)
            )
        )


DDL_LOCK = 7_312_025  # pg_advisory_lock key: one process at a time creates tables


def open_episodes(settings: Settings) -> CareEpisodes:
    """Opens the store, creating its tables if needed. On PostgreSQL, processes starting
    together (API, relay, projections) take turns: the library's CREATE OR REPLACE FUNCTION
    fails with 'tuple concurrently updated' when two sessions run it at once."""
    ensure_postgres_schema(settings)
    if settings.store is not StoreKind.postgres:
        service = CareEpisodes(
            env=settings.persistence_env(), clock_skew_seconds=settings.clock_skew_seconds
        )
        if settings.store is StoreKind.sqlite:
            service.on_close.append(WalCheckpointer(settings.sqlite_path).close)
        return service
    assert settings.postgres_dsn is not None
    with psycopg.connect(str(settings.postgres_dsn), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK,))
        try:
            return CareEpisodes(
                env=settings.persistence_env(), clock_skew_seconds=settings.clock_skew_seconds
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK,))
