"""Correlation ids, JSON logs, the configuration check and the settings table."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from routing.config import Settings, StoreKind
from routing.operations import check, correlation, logs, settings_doc
from routing.operations.health import Readiness, projection_lag

ROOT = Path(__file__).resolve().parents[2]


# --- correlation ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["3f2a9c0e-1b7d-4c55-9a8e-6f0d6f7c2a11", "req_01HZX3", "frontend:1234:abcd", "a" * 128],
)
def test_a_callers_request_id_is_kept(given: str) -> None:
    assert correlation.accept(given) == given


@pytest.mark.parametrize(
    "given",
    [
        "19900101-1234",  # a personnummer is never a correlation id
        "199001011234",
        "ab",  # too short to be an id
        "a" * 129,
        "bad id with spaces",
        "<script>",
        "",
    ],
)
def test_a_request_id_that_could_identify_a_patient_or_break_logs_is_refused(given: str) -> None:
    assert correlation.accept(given) is None


def test_traceparent_gives_its_trace_id_and_x_request_id_wins() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace}-00f067aa0ba902b7-01"
    assert correlation.from_headers([(b"traceparent", traceparent.encode())]) == trace
    headers = [(b"traceparent", traceparent.encode()), (b"X-Request-ID", b"req-000000001")]
    assert correlation.from_headers(headers) == "req-000000001"
    assert correlation.from_headers([("correlation-id", b"kafka-msg-0001")]) == "kafka-msg-0001"
    zero = f"00-{'0' * 32}-00f067aa0ba902b7-01"
    assert correlation.from_headers([(b"traceparent", zero.encode())]) is None


def test_a_batch_keeps_each_events_own_id() -> None:
    class Item:
        def __init__(self, event_id: str) -> None:
            self.event_id = event_id

    batch = correlation.for_batch([Item("e1"), Item("e2"), Item("e3")], ["r1", None, "r3"])
    assert batch is not None
    assert (batch.for_event("e1"), batch.for_event("e2"), batch.for_event("e3")) == (
        "r1", "r1", "r3"
    )  # fmt: skip
    assert correlation.for_batch([Item("e1")], [None]) is None


# --- logs ------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.json_formatter())
    logger = logging.getLogger("routing.test-json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)


def test_log_lines_are_json_with_the_correlation_id(json_log: io.StringIO) -> None:
    token = correlation.set_current(correlation.Correlation("req-abc-123"))
    try:
        logging.getLogger("routing.test-json").info("stored %d facts", 3, extra={"page": 7})
    finally:
        correlation.reset(token)
    line = json.loads(json_log.getvalue())
    assert line["message"] == "stored 3 facts"
    assert line["correlation_id"] == "req-abc-123"
    assert line["level"] == "INFO"
    assert line["logger"] == "routing.test-json"
    assert line["page"] == 7
    assert "time" in line


def test_a_patient_identifier_never_reaches_the_log(json_log: io.StringIO) -> None:
    logging.getLogger("routing.test-json").warning(
        "refused body %s", {"patient": "psn_3f9a2c7d41b04e8f", "note": "19121212-1212"}
    )
    text = json_log.getvalue()
    assert "psn_3f9a2c7d41b04e8f" not in text
    assert "19121212-1212" not in text
    assert logs.REDACTED in json.loads(text)["message"]


# --- routing config check -------------------------------------------------------------------


def levels(findings: list[check.Finding]) -> dict[str, str]:
    return {f.variable: f.level for f in findings}


def test_postgres_without_a_dsn_and_a_worker_without_a_broker_are_errors() -> None:
    settings = Settings(store=StoreKind.postgres, _env_file=None)  # type: ignore[call-arg]
    found = levels(check.static(settings, "relay"))
    assert found["ROUTING_POSTGRES_DSN"] == "error"
    assert found["ROUTING_KAFKA_BOOTSTRAP_SERVERS"] == "error"
    assert found["ROUTING_METRICS_PORT"] == "warning"


def test_the_api_without_a_broker_is_only_warned_and_a_good_config_is_clean() -> None:
    dsn = "postgresql://routing@db:5432/routing"
    api = Settings(store=StoreKind.postgres, postgres_dsn=dsn, _env_file=None)  # type: ignore[call-arg]
    assert levels(check.static(api, "api")) == {"ROUTING_KAFKA_BOOTSTRAP_SERVERS": "warning"}
    worker = api.model_copy(
        update={"kafka_bootstrap_servers": "k1:9092,k2:9092", "metrics_port": 9100}
    )
    assert check.static(worker, "projections") == []


def test_malformed_values_are_named_by_variable() -> None:
    settings = Settings(
        store=StoreKind.memory, kafka_bootstrap_servers="kafka", metrics_port=8000, _env_file=None
    )  # type: ignore[call-arg]
    found = levels(check.static(settings, "ingest"))
    assert found["ROUTING_KAFKA_BOOTSTRAP_SERVERS"] == "error"  # no port
    assert found["ROUTING_METRICS_PORT"] == "error"  # same as ROUTING_PORT
    assert found["ROUTING_STORE"] == "error"  # memory cannot be shared by processes


def test_invalid_environment_values_are_reported_without_echoing_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROUTING_PORT", "eighty")
    monkeypatch.setenv("ROUTING_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("ROUTING_POSTGRES_DSN", "mysql://root:hunter2@db/x")
    settings, findings = check.load(lambda: Settings(_env_file=None))  # type: ignore[call-arg]
    assert settings is None
    by_var = {f.variable: f.message for f in findings}
    assert set(by_var) == {"ROUTING_PORT", "ROUTING_LOG_LEVEL", "ROUTING_POSTGRES_DSN"}
    assert "'eighty'" in by_var["ROUTING_PORT"]
    assert "hunter2" not in " ".join(by_var.values())


def test_the_check_reaches_a_real_postgresql_or_says_why(tmp_path: Path) -> None:
    refused = Settings(  # type: ignore[call-arg]
        store=StoreKind.postgres,
        postgres_dsn="postgresql://routing:pw@127.0.0.1:1/routing",
        _env_file=None,
    )
    (finding,) = [f for f in check.reachability(refused, "api", 2) if "DSN" in f.variable]
    assert finding.level == "error"
    assert "127.0.0.1:1" in finding.message
    assert "pw@" not in finding.message
    sqlite = Settings(  # type: ignore[call-arg]
        store=StoreKind.sqlite, sqlite_path=tmp_path / "a" / "r.db", _env_file=None
    )
    assert {f.level for f in check.reachability(sqlite, "all", 2)} == {"ok"}


# --- settings table and health arithmetic ----------------------------------------------------


def test_every_setting_is_documented_and_the_readme_table_is_current() -> None:
    undocumented = [n for n, f in Settings.model_fields.items() if not f.description]
    assert not undocumented
    readme = (ROOT / "README.md").read_text()
    assert settings_doc.readme_block(readme) == settings_doc.block(), (
        "README settings table is stale: run `routing config docs` and paste it"
    )


def test_projection_lag_is_per_partition_and_never_negative() -> None:
    lag = projection_lag({"a": {0: 10, 1: 5}, "b": {0: 12}}, {0: 11, 1: 5, 2: 3}, ["a", "b", "c"])
    assert lag == {
        "a": {0: 1, 1: 0, 2: 3},
        "b": {0: 0, 1: 5, 2: 3},
        "c": {0: 11, 1: 5, 2: 3},
    }


def test_a_readiness_answer_says_when_its_checks_began_and_a_cached_one_keeps_that_time() -> None:
    """A cached answer must not pass for a fresh one: a reader waiting for something (the fault
    tests wait for the relay's last page) compares ``checked_at`` with when that happened."""
    pings: list[float] = []
    ready = Readiness(
        ping_store=lambda: pings.append(time.time()), broker=None, topic="t", timeout=1,
        cache_seconds=60,
    )  # fmt: skip
    before = time.time()
    first = asyncio.run(ready.report()).as_json()
    began = datetime.fromisoformat(first["checked_at"]).timestamp()
    assert before <= began <= pings[0]
    assert asyncio.run(ready.report()).as_json()["checked_at"] == first["checked_at"]
    assert len(pings) == 1, "the second answer came from the cache"
    ready.forget()
    again = asyncio.run(ready.report()).as_json()
    assert datetime.fromisoformat(again["checked_at"]).timestamp() >= pings[0]
    assert len(pings) == 2
