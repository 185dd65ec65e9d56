"""A plain ``schemathesis run --checks all`` against the real server, as an integrator would
run it (issue 16, item 9): ``routing serve`` on a free port with the embedded store (SQLite in
the test's directory), the OpenAPI document it serves, a bearer token holding every role, and
the hooks of ``tests/contracts/schemathesis_hooks.py`` (the facts it generates obey the two
rules that relate a field to the clock or to another field, declared on the fact writes' 422).

Every phase (examples, coverage, fuzzing, stateful) and every check; no baseline, no
exclusion: the run passes only with 0 failures and 0 errors. Unlike
``tests/integration/test_fuzz_api.py`` (the app in process, on the memory store) this goes
through uvicorn, the fast lane, the SQLite store and the read models as deployed.

Bounded for CI: ``ROUTING_CLI_FUZZ_EXAMPLES`` examples per operation (default 10), one
worker, ``--generation-deterministic`` so that a failure repeats.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from routing.messaging.bundled import free_port
from tests.auth_support import TEST_PSEUDONYM_KEY, TEST_SECRET, all_roles
from tests.contracts.tools import ROOT

EXAMPLES = int(os.environ.get("ROUTING_CLI_FUZZ_EXAMPLES", "10"))
BIN = Path(sys.executable).parent
HOOKS = "tests.contracts.schemathesis_hooks"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``routing serve`` with the embedded store, in development mode with the test keys."""
    port = free_port()
    env = {
        **os.environ,
        "ROUTING_STORE": "sqlite",
        "ROUTING_SQLITE_PATH": str(tmp_path / "routing.db"),
        "ROUTING_PROJECTIONS_SQLITE_PATH": str(tmp_path / "projections.db"),
        "ROUTING_AUTH_DEV_SECRET": TEST_SECRET,
        "ROUTING_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "ROUTING_PORT": str(port),
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "routing"), "serve"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            assert server.poll() is None, (tmp_path / "server.log").read_text()
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_schemathesis_run_checks_all_finds_nothing(served: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{served}/openapi.json",
         "--checks", "all",
         "--header", f"Authorization: {all_roles()['Authorization']}",
         "--max-examples", str(EXAMPLES), "--generation-deterministic", "--workers", "1",
         "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    operations = sum(
        len(ops) for ops in httpx.get(f"{served}/openapi.json").json()["paths"].values()
    )
    tested = re.search(r"Tested: (\d+)", summary)
    assert tested is not None, summary
    assert int(tested.group(1)) == operations >= 40, summary  # every operation was tried
    banner = summary.strip().splitlines()[-1]
    assert "failure" not in banner, summary
    assert "error" not in banner, summary
