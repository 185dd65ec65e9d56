"""A private PostgreSQL cluster in a temporary directory, which a test may stop and start.

The fault tier restarts PostgreSQL under running processes; the shared server on port 5432
belongs to every other test and engineer, so each test gets its own cluster, made with the
installed server's ``initdb`` and driven with its ``pg_ctl``. ``initdb`` refuses to run as
root, so as root (CI) the cluster belongs to the ``postgres`` system user and every command
runs through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from routing.messaging.bundled import free_port


class ClusterUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine (or no user to run them as)."""


def server_bin() -> Path:
    """The newest installed server's bin directory (Debian/Ubuntu layout, or PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterUnavailableError("no initdb: install the PostgreSQL server (apt: postgresql)")


class PgCluster:
    """``initdb`` once, then ``start`` / ``stop`` / ``kill`` as often as a test likes."""

    def __init__(self, root: Path) -> None:
        self.bin = server_bin()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.log = root / "postgres.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise ClusterUnavailableError("running as root without runuser")
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def init(self) -> PgCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o755)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = on\nmax_connections = 200\nshared_buffers = 32MB\n"
            )
        return self

    def start(self, timeout: float = 30.0) -> None:
        """Starts the server; after a SIGKILL the orphaned backends may hold the shared memory
        for a moment ("pre-existing shared memory block is still in use"): tries again."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                    "-w", "-t", str(int(timeout)), "start",
                )  # fmt: skip
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop_immediate(self) -> None:
        """``pg_ctl stop -m immediate``: every backend is cut off, no checkpoint (a crash)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def postmaster_pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None

    def kill(self) -> None:
        """SIGKILL to the postmaster; its backends notice and exit, the next start recovers
        from the write-ahead log (as after a machine crash)."""
        pid = self.postmaster_pid()
        assert pid is not None, "no postmaster running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def destroy(self) -> None:
        if self.postmaster_pid() is not None:
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                 "stop"], capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
