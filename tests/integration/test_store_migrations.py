"""The event store's own tables under Alembic (routing.persistence.migrate), on a SQLite file
and on PostgreSQL (a schema of the test's own): a fresh store is upgraded, a store laid out
by the code before Alembic is adopted with its rows, a second upgrade changes nothing, and
processes opening an empty database together all succeed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from routing.config import Settings, StoreKind
from routing.messaging.progress import IngestProgress, Probe, ProgressStore, RelayProgress
from routing.persistence import migrate
from routing.persistence.tables import store_metadata
from routing.store import ensure_postgres_schema, open_episodes

VERSION = "alembic_version_store"


def _schema(settings: Settings) -> str | None:
    return settings.postgres_schema if settings.store is StoreKind.postgres else None


def _events_table(settings: Settings) -> str:
    return "careepisodes_events" if settings.store is StoreKind.postgres else "stored_events"


def _engine(settings: Settings) -> sa.Engine:
    if settings.store is StoreKind.sqlite:
        return migrate.sqlite_engine(str(settings.sqlite_path))
    url = str(settings.postgres_dsn).replace("postgresql://", "postgresql+psycopg://", 1)
    return sa.create_engine(url, poolclass=sa.NullPool)


@pytest.fixture
def engine(store: Settings) -> Iterator[sa.Engine]:
    engine = _engine(store)
    yield engine
    engine.dispose()


def _old_layout(settings: Settings) -> list[str]:
    """The DDL the code before Alembic ran (progress.py, recorders.py, pgrecorder.py)."""
    schema = _schema(settings)
    prefix = f'"{schema}".' if schema else ""
    big = "bigint" if schema else "INTEGER"
    return [
        f"CREATE TABLE IF NOT EXISTS {prefix}relay_progress (topic TEXT PRIMARY KEY,"
        " position BIGINT NOT NULL, epoch INTEGER NOT NULL, cluster_id TEXT,"
        " probe_partition INTEGER, probe_offset BIGINT, probe_event_id TEXT)",
        f"CREATE TABLE IF NOT EXISTS {prefix}ingest_progress (topic TEXT PRIMARY KEY,"
        " generation INTEGER NOT NULL, cluster_id TEXT)",
        f"CREATE TABLE IF NOT EXISTS {prefix}{_events_table(settings)}_chain ("
        f" position {big} PRIMARY KEY, previous_position {big} NOT NULL, digest text NOT NULL)",
    ]


def _write_old_store(settings: Settings, engine: sa.Engine, *, chain: bool = True) -> None:
    ensure_postgres_schema(settings)
    schema = _schema(settings)
    prefix = f'"{schema}".' if schema else ""
    statements = _old_layout(settings)[: 3 if chain else 2]
    with engine.begin() as c:
        for statement in statements:
            c.exec_driver_sql(statement)
        c.execute(
            sa.text(
                f"INSERT INTO {prefix}relay_progress VALUES "
                "('events', 42, 3, 'cluster-a', 1, 17, 'event-1')"
            )
        )
        c.execute(sa.text(f"INSERT INTO {prefix}ingest_progress VALUES ('inbound', 2, 'c-b')"))
        if chain:
            c.execute(
                sa.text(f"INSERT INTO {prefix}{_events_table(settings)}_chain VALUES (1, 0, 'ab')")
            )


def _versions(engine: sa.Engine, schema: str | None) -> list[str]:
    table = sa.table(VERSION, sa.column("version_num"), schema=schema)
    with engine.connect() as c:
        return [str(v) for v in c.execute(sa.select(table.c.version_num)).scalars()]


def _differences(engine: sa.Engine, settings: Settings) -> list[object]:
    """What Alembic's comparison finds between the migrated tables and the MetaData."""
    metadata = store_metadata(_schema(settings), _events_table(settings))
    ours = {t.name for t in metadata.tables.values()}

    def include_name(name: str | None, kind: str, _parents: object) -> bool:
        if kind == "schema":  # other tests' stores share the database
            return name == metadata.schema
        return kind != "table" or name in ours

    with engine.connect() as c:
        opts = {"include_schemas": True, "include_name": include_name}
        context = MigrationContext.configure(c, opts=opts)
        return list(compare_metadata(context, metadata))


def test_a_fresh_store_is_upgraded(store: Settings, engine: sa.Engine) -> None:
    service = open_episodes(store)
    try:
        assert service.recorder.chain_created  # type: ignore[attr-defined]
        progress = ProgressStore(service)
        assert progress.load("events") == RelayProgress("events")
        saved = RelayProgress("events", 5, 2, "cluster", Probe(0, 4, "e"))
        progress.save(saved)
        assert progress.load("events") == saved
    finally:
        service.close()
    assert _versions(engine, _schema(store)) == ["0001"]
    assert _differences(engine, store) == []


def test_a_store_written_before_alembic_is_adopted_with_its_rows(
    store: Settings, engine: sa.Engine
) -> None:
    _write_old_store(store, engine)
    service = open_episodes(store)
    try:
        assert not service.recorder.chain_created  # type: ignore[attr-defined]
        progress = ProgressStore(service)
        assert progress.load("events") == RelayProgress(
            "events", 42, 3, "cluster-a", Probe(1, 17, "event-1")
        )
        assert progress.load_ingest("inbound") == IngestProgress("inbound", 2, "c-b")
        links = service.recorder.chain_links(0, 10)  # type: ignore[attr-defined]
        assert [(k.position, k.previous_position, k.digest) for k in links] == [(1, 0, "ab")]
    finally:
        service.close()
    assert _versions(engine, _schema(store)) == ["0001"]
    differences = _differences(engine, store)
    if store.store is StoreKind.sqlite:
        # The old DDL said ``topic TEXT PRIMARY KEY``, which SQLite lets hold NULL (declared
        # NOT NULL now); the keys are always given, so the adopted tables are kept as they are.
        differences = [d for d in differences if not _pk_nullable(d)]
    assert differences == []


def _pk_nullable(difference: object) -> bool:
    changes = difference if isinstance(difference, list) else [difference]
    return all(c[0] == "modify_nullable" and c[3] in {"topic", "position"} for c in changes)


def test_a_store_older_than_the_chain_gets_it_created_for_sealing(
    store: Settings, engine: sa.Engine
) -> None:
    _write_old_store(store, engine, chain=False)
    service = open_episodes(store)
    try:
        assert service.recorder.chain_created  # type: ignore[attr-defined]
        assert ProgressStore(service).load_ingest("inbound") == IngestProgress("inbound", 2, "c-b")
    finally:
        service.close()


def test_a_table_missing_a_column_is_not_adopted(store: Settings, engine: sa.Engine) -> None:
    ensure_postgres_schema(store)
    schema = _schema(store)
    prefix = f'"{schema}".' if schema else ""
    with engine.begin() as c:
        c.exec_driver_sql(f"CREATE TABLE {prefix}ingest_progress (topic TEXT PRIMARY KEY)")
    with pytest.raises(RuntimeError, match="generation"):
        migrate.upgrade(engine, schema, _events_table(store))
    assert VERSION not in sa.inspect(engine).get_table_names(schema=schema)


def test_upgrading_twice_changes_nothing(store: Settings, engine: sa.Engine) -> None:
    _write_old_store(store, engine)
    schema, events = _schema(store), _events_table(store)
    assert migrate.upgrade(engine, schema, events) == set()  # adopted: nothing created
    assert migrate.upgrade(engine, schema, events) == set()
    assert _versions(engine, schema) == ["0001"]
    prefix = f'"{schema}".' if schema else ""
    with engine.connect() as c:
        rows = c.exec_driver_sql(f"SELECT topic, position FROM {prefix}relay_progress").all()
    assert [tuple(r) for r in rows] == [("events", 42)]


def test_processes_upgrading_an_empty_database_together_all_succeed(store: Settings) -> None:
    """Each thread has its own engine and connection (as separate processes would); the
    schema does not exist yet either."""
    schema, events = _schema(store), _events_table(store)
    engines = [_engine(store) for _ in range(4)]
    start = threading.Barrier(len(engines))
    results: list[set[str] | BaseException] = [set()] * len(engines)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = migrate.upgrade(engines[i], schema, events)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert not [r for r in results if isinstance(r, BaseException)], results
    created = [r for r in results if r]
    assert created == [{"relay_progress", "ingest_progress", f"{events}_chain"}]
    assert _versions(_engine(store), schema) == ["0001"]
