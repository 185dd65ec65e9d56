"""``routing config check``: what is missing or wrong in the configuration, before start.

Three layers, so that a bad deployment fails in its init step with a sentence naming the
variable instead of in a stack trace minutes later: the values themselves (pydantic's
validation, per variable), how they fit together for the process's role (a PostgreSQL store
without a DSN, a Kafka worker without a broker), and whether what they point at answers
(database, broker, topics). Secrets are never echoed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from routing.config import Settings, StoreKind

Level = Literal["error", "warning", "ok"]
Role = Literal["api", "relay", "ingest", "projections", "all"]
ROLES: tuple[Role, ...] = ("api", "relay", "ingest", "projections", "all")
_KAFKA_ROLES = {"relay", "ingest", "projections", "all"}
_SECRET = re.compile(r"dsn|password|secret|token|key", re.IGNORECASE)
_HOST_PORT = re.compile(r"^\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}$")


@dataclass(frozen=True)
class Finding:
    level: Level
    variable: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def variable(field: str) -> str:
    return f"ROUTING_{field.upper()}"


def load(factory: Callable[[], Settings] = Settings) -> tuple[Settings | None, list[Finding]]:
    """The settings, or one error per invalid variable (values of secrets not shown)."""
    try:
        return factory(), []
    except ValidationError as exc:
        return None, _invalid(exc)


def _invalid(exc: ValidationError) -> list[Finding]:
    findings = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        given = "" if _SECRET.search(field) else f" (got {error.get('input')!r})"
        findings.append(Finding("error", variable(field), f"{error['msg']}{given}"))
    return findings


def load_rest() -> tuple[Settings | None, list[Finding]]:
    """Like ``load``, but an invalid variable does not hide the others' checks: the settings
    come back with each invalid variable at its default, beside the errors."""
    settings, findings = load()
    if settings is not None:
        return settings, findings
    bad = {f.variable.removeprefix("ROUTING_").lower() for f in findings}
    defaults = {
        name: field.default
        for name, field in Settings.model_fields.items()
        if name in bad and not field.is_required()
    }
    try:
        return Settings(**defaults), findings
    except ValidationError:
        return None, findings


def static(settings: Settings, role: Role) -> list[Finding]:
    """How the values fit together for ``role``; no I/O."""
    out: list[Finding] = []
    kafka_role = role in _KAFKA_ROLES
    if settings.store is StoreKind.postgres and settings.postgres_dsn is None:
        out.append(Finding("error", "ROUTING_POSTGRES_DSN", "required when ROUTING_STORE=postgres"))
    if settings.store is StoreKind.memory:
        level: Level = "error" if kafka_role else "warning"
        out.append(
            Finding(level, "ROUTING_STORE", "memory: lost on exit and not shared between "
                    "processes (tests only); use postgres")
        )  # fmt: skip
    if settings.store is StoreKind.sqlite and role != "all":
        out.append(
            Finding("warning", "ROUTING_STORE", "sqlite: every process must run on the same "
                    "machine and volume; use postgres for separate processes")
        )  # fmt: skip
    servers = settings.kafka_bootstrap_servers
    if not servers:
        if kafka_role and role != "all":
            out.append(Finding("error", "ROUTING_KAFKA_BOOTSTRAP_SERVERS", f"required by `{role}`"))
        elif role == "api":
            out.append(
                Finding("warning", "ROUTING_KAFKA_BOOTSTRAP_SERVERS", "unset: /ready checks "
                        "neither the broker nor the projections' lag")
            )  # fmt: skip
    else:
        bad = [s for s in servers.split(",") if not _HOST_PORT.match(s.strip())]
        if bad:
            out.append(Finding("error", "ROUTING_KAFKA_BOOTSTRAP_SERVERS", f"not host:port: {bad}"))
    if kafka_role and role != "all" and settings.metrics_port is None:
        out.append(
            Finding("warning", "ROUTING_METRICS_PORT", "unset: this process serves no "
                    "/metrics, /live or /ready")
        )  # fmt: skip
    if settings.metrics_port is not None and settings.metrics_port == settings.port:
        out.append(
            Finding("error", "ROUTING_METRICS_PORT", f"same as ROUTING_PORT ({settings.port})")
        )
    if (
        settings.store is StoreKind.postgres
        and settings.postgres_schema == settings.projections_schema
    ):
        out.append(
            Finding("warning", "ROUTING_PROJECTIONS_SCHEMA", "same schema as the event store: "
                    "a rebuild's table swaps then share it with the store's tables")
        )  # fmt: skip
    return out


def reachability(settings: Settings, role: Role, timeout: float = 5.0) -> list[Finding]:
    """Whether the store, the read-model location and the broker answer."""
    out = [_store(settings, timeout)]
    if settings.store is StoreKind.sqlite:
        out.append(_writable("ROUTING_PROJECTIONS_SQLITE_PATH", settings.projections_sqlite_path))
    if settings.kafka_bootstrap_servers and (role in _KAFKA_ROLES or role == "api"):
        out += asyncio.run(_broker(settings, timeout))
    return [f for f in out if f is not None]


def _store(settings: Settings, timeout: float) -> Finding:
    if settings.store is StoreKind.sqlite:
        return _writable("ROUTING_SQLITE_PATH", settings.sqlite_path)
    if settings.store is StoreKind.memory or settings.postgres_dsn is None:
        return Finding("ok", "ROUTING_STORE", settings.store.value)
    # lazy: the client library of a backend loads only when it is probed
    import psycopg

    host = settings.postgres_dsn.hosts()[0]
    where = f"{host.get('host')}:{host.get('port') or 5432}"
    try:
        with psycopg.connect(str(settings.postgres_dsn), connect_timeout=int(timeout)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return Finding("error", "ROUTING_POSTGRES_DSN", f"cannot connect to {where}: {reason}")
    return Finding(
        "ok", "ROUTING_POSTGRES_DSN", f"PostgreSQL {version[0] if version else '?'} at {where}"
    )


def _writable(var: str, path: Path) -> Finding:
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return Finding("error", var, f"{path}: {existing} is not writable")
    return Finding("ok", var, str(path))


async def _broker(settings: Settings, timeout: float) -> list[Finding]:
    # lazy: the client library of a backend loads only when it is probed
    from aiokafka import AIOKafkaConsumer

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the finding says it once
    var = "ROUTING_KAFKA_BOOTSTRAP_SERVERS"
    servers = settings.kafka_bootstrap_servers or ""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, request_timeout_ms=int(timeout * 1000), enable_auto_commit=False
    )
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        topics = await asyncio.wait_for(consumer.topics(), timeout)
        out = [Finding("ok", var, f"broker answers at {servers}")]
        for name, partitions in settings.topics():
            out.append(_topic(consumer.partitions_for_topic(name), name, partitions, topics))
        return out
    except Exception as exc:  # any failure to talk to the broker is the finding
        return [Finding("error", var, f"no broker answers at {servers}: {type(exc).__name__}")]
    finally:
        await consumer.stop()


def _topic(found: set[int] | None, name: str, wanted: int, topics: set[str]) -> Finding:
    if name not in topics or not found:
        return Finding("warning", "topic " + name, f"missing: created with {wanted} "
                       "partitions at start (or create it with your replication)")  # fmt: skip
    if len(found) != wanted:
        return Finding("warning", "topic " + name, f"has {len(found)} partitions; "
                       f"settings say {wanted} (scaling follows the topic)")  # fmt: skip
    return Finding("ok", "topic " + name, f"{len(found)} partitions")


def run(role: Role, *, offline: bool = False, timeout: float = 5.0) -> list[Finding]:
    """Every problem at once: invalid variables, then how the rest fits together, then (only
    when the values are all sound) whether the store and the broker answer."""
    settings, findings = load_rest()
    if settings is None:
        return findings
    findings += static(settings, role)
    if not offline and not any(f.level == "error" for f in findings):
        findings += reachability(settings, role, timeout)
    return findings
