"""Issue 21 item 5: a benchmark's worker processes run with the benchmark's environment, not
the developer's: a checkout where ``routing dev`` left a cipher key in ``var/dev-keys.json``
(or a shell with ROUTING_* set) must not make them read the benchmark's store with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.loadgen import bench_environ
from routing.config import Settings, StoreKind
from routing.episodes.events import parse_event
from routing.keys import new_cipher_key
from routing.store import open_episodes
from tests import support as f

ROUTING = str(Path(sys.executable).parent / "routing")


def test_a_worker_reads_the_benchmark_store_despite_the_developers_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "bench.db"
    plain = Settings(  # type: ignore[call-arg]
        store=StoreKind.sqlite, sqlite_path=store, _env_file=None, pseudonym_key="p" * 40
    )
    service = open_episodes(plain)
    service.record_batch([parse_event(b) for b in f.typical_journey()])
    service.close()
    dev_keys = tmp_path / "checkout-var" / "dev-keys.json"
    dev_keys.parent.mkdir()
    dev_keys.write_text(json.dumps({"auth_dev_secret": "d" * 48, "pseudonym_key": "q" * 48,
                                    "cipher_key": new_cipher_key()}))  # fmt: skip
    monkeypatch.setenv("ROUTING_DEV_KEYS_PATH", str(dev_keys))  # what `routing dev` left
    monkeypatch.setenv("ROUTING_CIPHER_KEY", new_cipher_key())  # a developer's shell
    env = bench_environ({"ROUTING_STORE": "sqlite", "ROUTING_SQLITE_PATH": str(store)})
    done = subprocess.run([ROUTING, "verify", "--chain"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cipher" not in (done.stdout + done.stderr).lower()
