"""Fixtures of the Kafka tier: a store (SQLite file or PostgreSQL), the broker, the test's own
topics and read models, and the store's service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from routing.config import Settings
from routing.episodes.service import CareEpisodes
from routing.store import open_episodes
from tests import kafka_support as ks


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture
def settings(
    store: Settings, kafka_bootstrap: str, kafka_names: dict[str, str], tmp_path: Path
) -> Settings:
    return ks.stack_settings(store, kafka_names, kafka_bootstrap, tmp_path)


@pytest.fixture
def service(settings: Settings) -> Iterator[CareEpisodes]:
    svc = open_episodes(settings)
    yield svc
    svc.close()
