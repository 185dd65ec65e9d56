"""Fresh, disposable stores for one benchmark run: a temp SQLite directory or PostgreSQL schemas.

Each store hands out ``Settings`` for the in-process baseline and ROUTING_* variables for the
server, each pointing at its own file or schema so the two never share a table, and removes
everything it created on ``cleanup``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from routing.config import Settings, StoreKind

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


class Store:
    def __init__(self, kind: StoreKind, dsn: str = DEFAULT_DSN) -> None:
        self.kind = kind
        self.dsn = dsn
        self.tmp = Path(tempfile.mkdtemp(prefix=f"routing-bench-{kind.value}-"))
        self.tag = f"bench_{uuid.uuid4().hex[:10]}"
        self.schemas: list[str] = []
        if kind is StoreKind.postgres:
            with psycopg.connect(dsn, connect_timeout=5):
                pass  # fail early and loudly when the server is not there

    def _schema(self, purpose: str) -> str:
        name = f"{self.tag}_{purpose}"
        self.schemas.append(name)
        return name

    def settings(self, purpose: str) -> Settings:
        """Settings for an in-process application of its own (the baseline)."""
        if self.kind is StoreKind.sqlite:
            return Settings(  # type: ignore[call-arg]
                store=self.kind, sqlite_path=self.tmp / f"{purpose}.db", _env_file=None
            )
        return Settings(  # type: ignore[call-arg]
            store=self.kind, postgres_dsn=self.dsn, postgres_schema=self._schema(purpose),
            _env_file=None,
        )  # fmt: skip

    def server_env(self, purpose: str) -> dict[str, str]:
        """ROUTING_* variables for ``uvicorn api.main:app``."""
        env = {"ROUTING_STORE": self.kind.value}
        if self.kind is StoreKind.sqlite:
            env["ROUTING_SQLITE_PATH"] = str(self.tmp / f"{purpose}.db")
        else:
            env["ROUTING_POSTGRES_DSN"] = self.dsn
            env["ROUTING_POSTGRES_SCHEMA"] = self._schema(purpose)
        return env

    def log(self, name: str) -> Path:
        return self.tmp / name

    def cleanup(self, keep_logs: bool = False) -> None:
        if self.schemas:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                for name in self.schemas:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                    )
            self.schemas.clear()
        if keep_logs:
            for p in self.tmp.iterdir():
                if p.suffix != ".log":
                    p.unlink()
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), to split CPU between server and client."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
