"""Opening the event store the settings name: the one place that builds a CareEpisodes."""

from __future__ import annotations

import psycopg
from psycopg import sql

from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes


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


def open_episodes(settings: Settings) -> CareEpisodes:
    ensure_postgres_schema(settings)
    return CareEpisodes(
        env=settings.persistence_env(), clock_skew_seconds=settings.clock_skew_seconds
    )
