"""Settings, read from ``ROUTING_*`` environment variables (and a ``.env`` file if present).

The eventsourcing library is configured by its own environment keys; ``persistence_env``
translates our settings into those keys so that the rest of the code never reads os.environ.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, PostgresDsn, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from routing.guarantee.model import GuaranteePolicy
from routing.kernel.calendar import DS_2023_27_PROPOSED_IN_FORCE
from routing.liability.rulebooks import RulebookPolicy


class StoreKind(StrEnum):
    memory = "memory"  # unit tests only: lost on exit
    sqlite = "sqlite"  # the embedded default
    postgres = "postgres"  # production


class Environment(StrEnum):
    development = "development"  # dev keys generated at runtime are allowed
    production = "production"  # start-up refuses without real keys (see routing.keys)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", env_file=".env", extra="ignore")

    store: StoreKind = Field(StoreKind.sqlite, description="Event store backend.")
    sqlite_path: Path = Field(Path("var/routing.db"), description="SQLite file of the store.")
    postgres_dsn: PostgresDsn | None = Field(
        None, description="postgresql://user:password@host:port/dbname (store=postgres)."
    )
    postgres_schema: str = Field(
        "", description="Schema of the store's tables, created if missing (default: public)."
    )
    postgres_pool_size: int = Field(8, ge=1, le=100, description="Store connections per process.")
    aggregate_cache_size: int = Field(
        10_000, ge=0, description="Episodes kept in memory between requests (0 = no cache)."
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    clock_skew_seconds: int = Field(
        300, ge=0, description="How far in the future occurred_at may lie (client clocks)."
    )
    fast_lane: bool = Field(
        True,
        description="Answer POST /events and POST /routing/decisions as plain ASGI ahead of "
        "FastAPI's router (same answers; see api/fastlane.py). false = through FastAPI.",
    )
    decision_cache_size: int = Field(
        4096,
        ge=0,
        description="Routing answers kept for reuse by the same question the same day "
        "(src/routing/decisions/cache.py); 0 = decide every question afresh.",
    )
    host: str = Field("127.0.0.1", description="Interface `routing serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of `routing serve`.")

    kafka_bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]; unset under `routing dev` = the bundled broker."
    )
    events_topic: str = Field(
        "routing.episode-events", description="Every stored fact, as CloudEvents."
    )
    events_partitions: int = Field(
        6, ge=1, le=1000, description="Partitions of the event topic when it is created."
    )
    inbound_topic: str = Field("routing.inbound", description="Facts posted by front-ends.")
    inbound_partitions: int = Field(
        3, ge=1, le=1000, description="Partitions of the inbound topic when it is created."
    )
    dead_letter_topic: str = Field(
        "routing.inbound.dead-letter", description="Inbound messages that could not be applied."
    )
    projections_sqlite_path: Path = Field(
        Path("var/projections.db"), description="Read models when store=sqlite."
    )
    projections_schema: str = Field("projections", description="Read models when store=postgres.")
    replay_sqlite_path: Path = Field(
        Path("var/replay.db"), description="Scratch read models of `routing replay` (sqlite)."
    )
    replay_schema: str = Field(
        "projections_replay", description="Scratch schema of `routing replay` (postgres)."
    )

    ds_2023_27_enabled: bool = Field(
        True,
        description="Apply the Ds 2023:27 proposal (R9, R14) from its effective date; it is "
        "not confirmed enacted.",
    )
    ds_2023_27_effective: date = Field(
        DS_2023_27_PROPOSED_IN_FORCE,
        description="Contacts starting on or after this date (Swedish time).",
    )
    guarantee_answer_rule_from: date | None = Field(
        None,
        description="Apply SOU 2021:59's proposed 14-day answer to care-guarantee clocks "
        "starting on or after this date; unset: off (a proposal with no date).",
    )

    env: Environment = Field(
        Environment.development, description="production refuses to start without real keys."
    )
    auth_issuer: str = Field("routing-dev", description="Expected `iss` of bearer tokens.")
    auth_audience: str = Field("routing", description="Expected `aud` of bearer tokens.")
    auth_jwks_url: str | None = Field(None, description="JWKS URL of the identity provider.")
    auth_jwks_file: Path | None = Field(None, description="JWKS file (instead of a URL).")
    auth_dev_secret: SecretStr | None = Field(
        None, description="HS256 shared secret: development only, refused in production."
    )
    token_cache_size: int = Field(10_000, ge=0, description="Verified tokens kept until exp.")
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key replacing personnummer by pseudonyms at the edge (C8)."
    )
    cipher_key: SecretStr | None = Field(
        None, description="AES key (base64, 16/24/32 bytes) encrypting stored event payloads."
    )
    cipher_old_keys: SecretStr | None = Field(
        None, description="Comma-separated earlier AES keys, still accepted for decryption."
    )
    dev_keys_path: Path = Field(
        Path("var/dev-keys.json"), description="Where `routing dev` keeps its generated keys."
    )

    @field_validator("cipher_key", "cipher_old_keys")
    @classmethod
    def _aes_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """A key that is not base64 of 16, 24 or 32 bytes fails here, naming the variable,
        rather than as "Incorrect padding" deep in the first read of the store."""
        if value is None:
            return None
        for n, key in enumerate(k.strip() for k in value.get_secret_value().split(",")):
            try:
                size = len(base64.b64decode(key, validate=True))
            except (binascii.Error, ValueError):
                raise ValueError(
                    f"key {n + 1} is not base64 (`routing keys new` makes one)"
                ) from None
            if size not in (16, 24, 32):
                raise ValueError(f"key {n + 1} is {size} bytes; AES needs 16, 24 or 32")
        return value

    read_wait_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description="How long a read with `min_position` waits for its read model before "
        "answering 409 not_yet_projected.",
    )

    # --- operations (health, metrics, logs) ---------------------------------------------
    log_format: Literal["json", "text"] = Field(
        "json",
        description="`json`: one JSON object per line (for log shippers); `text`: readable "
        "lines (`routing dev` on a terminal uses it unless this is set).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of /metrics, /live and /ready of relay, ingest, projection and "
        "rebuild processes (the API serves them on its own port); unset = not served.",
    )
    metrics_host: str = Field("127.0.0.1", description="Interface of the metrics port.")
    ready_max_projection_lag: int = Field(
        10_000,
        ge=0,
        description="API readiness: most messages a projection may be behind on any "
        "partition of the event topic (raise it for a planned rebuild).",
    )
    ready_timeout_seconds: float = Field(
        2.0, gt=0, le=30, description="How long a readiness check waits for store and broker."
    )

    def rulebook_policy(self) -> RulebookPolicy:
        return RulebookPolicy(self.ds_2023_27_enabled, self.ds_2023_27_effective)

    def guarantee_policy(self) -> GuaranteePolicy:
        return GuaranteePolicy(self.guarantee_answer_rule_from)

    def topics(self) -> list[tuple[str, int]]:
        """Topics and partition counts the system needs."""
        return [
            (self.events_topic, self.events_partitions),
            (self.inbound_topic, self.inbound_partitions),
            (self.dead_letter_topic, 1),
        ]

    def persistence_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for the chosen store."""
        env: dict[str, str] = {
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size or ""),
            "AGGREGATE_CACHE_FASTFORWARD": "y",
            # Stores each fact's correlation id beside it (see routing.persistence.mapper).
            "MAPPER_TOPIC": "routing.persistence.mapper:CorrelatingMapper",
        }
        if self.cipher_key is not None:
            env["CIPHER_TOPIC"] = "routing.persistence.cipher:RotatingAESCipher"
            env["CIPHER_KEY"] = self.cipher_key.get_secret_value()
            if self.cipher_old_keys is not None:
                env["CIPHER_OLD_KEYS"] = self.cipher_old_keys.get_secret_value()
        if self.store is StoreKind.memory:
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        elif self.store is StoreKind.sqlite:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
            }
        else:
            if self.postgres_dsn is None:
                raise ValueError("ROUTING_POSTGRES_DSN is required when ROUTING_STORE=postgres")
            host = self.postgres_dsn.hosts()[0]
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "PROCESS_RECORDER_TOPIC": (
                    "routing.persistence.pgrecorder:BinaryInsertProcessRecorder"
                ),
                "POSTGRES_DBNAME": (self.postgres_dsn.path or "/postgres").lstrip("/"),
                "POSTGRES_HOST": host.get("host") or "127.0.0.1",
                "POSTGRES_PORT": str(host.get("port") or 5432),
                "POSTGRES_USER": host.get("username") or "postgres",
                "POSTGRES_PASSWORD": host.get("password") or "",
                "POSTGRES_SCHEMA": self.postgres_schema,
                "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
                "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
                # Seconds a call waits for a pooled connection: while PostgreSQL restarts a
                # request is answered 503 instead of waiting (operations/resilience.py).
                "POSTGRES_CONNECT_TIMEOUT": "2",
            }
        return env
