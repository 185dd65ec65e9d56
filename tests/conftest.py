"""Fixtures for the three tiers: in-memory (unit), SQLite file, and a real PostgreSQL.

PostgreSQL resolves in this order: ``ROUTING_TEST_POSTGRES_DSN`` -> a testcontainers
PostgreSQL when a Docker engine answers -> the server on 127.0.0.1:5432 (started with
pg_ctlcluster if it is installed but down). Outside CI an unreachable server skips the tier;
in CI (``CI`` set) it fails the run, because a skipped integration tier is not a pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from routing.config import Settings, StoreKind
from routing.episodes.service import CareEpisodes
from routing.messaging.bundled import BundledBroker
from routing.store import open_episodes
from tests.auth_support import TEST_KEYS, all_roles

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


def _start_local_cluster() -> None:
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return
    for version in os.listdir("/etc/postgresql"):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """DSN of a PostgreSQL server's maintenance database."""
    dsn = os.environ.get("ROUTING_TEST_POSTGRES_DSN")
    if dsn:
        yield dsn
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
        return
    if not _reachable(LOCAL_DSN):
        _start_local_cluster()
    if _reachable(LOCAL_DSN):
        yield LOCAL_DSN
        return
    message = "no PostgreSQL: set ROUTING_TEST_POSTGRES_DSN or run one on 127.0.0.1:5432"
    if IN_CI:
        pytest.fail(f"PostgreSQL tier cannot be skipped in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A throwaway database for this test session, dropped at the end."""
    name = f"routing_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = postgres_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker: ``KAFKA_BOOTSTRAP_SERVERS`` -> testcontainers Apache
    Kafka (KRaft) when a Docker engine answers -> the bundled Tansu broker."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    broker = BundledBroker().start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def bundled_broker() -> Iterator[BundledBroker]:
    """A broker of the test's own, which the test may stop and restart (memory only)."""
    broker = BundledBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_names() -> dict[str, str]:
    """Topic names of the test's own, so tests sharing a broker never see each other."""
    tag = uuid.uuid4().hex[:8]
    return {
        "events_topic": f"t{tag}.episode-events",
        "inbound_topic": f"t{tag}.inbound",
        "dead_letter_topic": f"t{tag}.dead-letter",
    }


@pytest.fixture
def memory_settings() -> Settings:
    return Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS)  # type: ignore[call-arg]


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        store=StoreKind.sqlite, sqlite_path=tmp_path / "routing.db", _env_file=None, **TEST_KEYS
    )


@pytest.fixture
def postgres_settings(postgres_database: str) -> Settings:
    """Each test gets its own schema, so tests never see each other's events."""
    return Settings(  # type: ignore[call-arg]
        store=StoreKind.postgres,
        postgres_dsn=postgres_database,
        postgres_schema=f"t_{uuid.uuid4().hex[:12]}",
        _env_file=None,
        **TEST_KEYS,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """Runs a test on every store: the in-memory one, a SQLite file and PostgreSQL."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture
def episodes(any_settings: Settings) -> Iterator[CareEpisodes]:
    service = open_episodes(any_settings)
    yield service
    service.close()


@pytest.fixture
def client(any_settings: Settings, episodes: CareEpisodes) -> Iterator[TestClient]:
    with TestClient(create_app(any_settings, service=episodes), headers=all_roles()) as c:
        yield c


@pytest.fixture
def memory_client(memory_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(memory_settings), headers=all_roles()) as c:
        yield c


_skipped_integration: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and ("postgres" in report.keywords or "kafka" in report.keywords):
        _skipped_integration.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped integration tier is a failure, whatever skipped it."""
    if IN_CI and _skipped_integration:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nCI: {len(_skipped_integration)} integration tests were skipped; failing the run")
