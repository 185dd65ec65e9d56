"""``routing config check`` as an operator runs it, against the real PostgreSQL and broker:
a good configuration exits 0 and says what answered; a wrong one exits 1 naming each
variable; an unreachable database or broker is an error naming where it looked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routing.cli import app
from routing.messaging.bundled import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    clean = {k: None for k in os.environ if k.startswith("ROUTING_")}
    result = CliRunner().invoke(app, ["config", "check", *args], env={**clean, **env})
    return result.exit_code, result.output


def test_a_good_configuration_passes_with_what_answered(
    postgres_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {
        "ROUTING_STORE": "postgres",
        "ROUTING_POSTGRES_DSN": postgres_database,
        "ROUTING_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ROUTING_METRICS_PORT": "9100",
        "ROUTING_EVENTS_TOPIC": "cfgcheck.missing-topic",
    }
    code, out = run(env, "--role", "relay", "--json")
    assert code == 0, out
    findings = {f["variable"]: f for f in json.loads(out)}
    assert findings["ROUTING_POSTGRES_DSN"]["level"] == "ok"
    assert "PostgreSQL" in findings["ROUTING_POSTGRES_DSN"]["message"]
    assert findings["ROUTING_KAFKA_BOOTSTRAP_SERVERS"]["level"] == "ok"
    assert findings["topic cfgcheck.missing-topic"]["level"] == "warning"  # created at start


def test_wrong_or_unreachable_settings_fail_naming_the_variable(postgres_database: str) -> None:
    code, out = run({"ROUTING_STORE": "postgres"}, "--role", "projections")
    assert code == 1
    assert "ROUTING_POSTGRES_DSN: required when ROUTING_STORE=postgres" in out
    assert "ROUTING_KAFKA_BOOTSTRAP_SERVERS: required by `projections`" in out

    code, out = run({"ROUTING_PORT": "eighty", "ROUTING_EVENTS_PARTITIONS": "0"})
    assert code == 1
    assert "ROUTING_PORT" in out
    assert "ROUTING_EVENTS_PARTITIONS" in out

    nowhere = f"127.0.0.1:{free_port()}"
    code, out = run(
        {
            "ROUTING_STORE": "postgres",
            "ROUTING_POSTGRES_DSN": postgres_database,
            "ROUTING_KAFKA_BOOTSTRAP_SERVERS": nowhere,
            "ROUTING_METRICS_PORT": "9100",
        },
        "--role", "ingest",
    )  # fmt: skip
    assert code == 1
    assert f"ROUTING_KAFKA_BOOTSTRAP_SERVERS: no broker answers at {nowhere}" in out
