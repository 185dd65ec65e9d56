"""The browser tier: a real ``routing dev`` process (SQLite store, bundled broker, relay,
projection runners, API and console, with demo data) driven by a real Chromium.

Debian's chromium and chromedriver (scripts/_chromium.sh installs them); outside CI their
absence skips the tier, in CI it fails it. Screenshots go to tests/artifacts/ (gitignored;
CI keeps them as artifacts).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from routing.messaging.bundled import free_port
from tests.auth_support import TEST_PSEUDONYM_KEY, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "tests" / "browser" / ".vendor" / "axe.min.js"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--window-size=1280,1600", "--lang=sv-SE",
)  # fmt: skip
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"browser tier cannot be skipped in CI: {message}")
    pytest.skip(message)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())
    except OSError:
        return 0, b""


def _settled(base: str) -> bool:
    """The projections have read every message the relay published."""
    status, body = _get(f"{base}/ready")
    if status != 200:
        return False
    lag = json.loads(body)["checks"]["projections"]["detail"]["lag"]
    if not all(v == 0 for v in lag.values()):
        return False
    # no lag on what the relay published is not yet everything: every read model has
    # applied the store up to its newest record (GET /projections/positions)
    status, body = _get(f"{base}/projections/positions")
    positions = json.loads(body)
    return status == 200 and all(p >= positions["store"] for p in positions["projections"].values())


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a ``routing dev`` with 400 demo episodes, its read models caught up."""
    data, port = tmp_path_factory.mktemp("console-dev"), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTING_")}
    env |= {"ROUTING_AUTH_DEV_SECRET": TEST_SECRET, "ROUTING_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "ROUTING_READY_MAX_PROJECTION_LAG": "0", "ROUTING_LOG_LEVEL": "WARNING"}  # fmt: skip
    log = (data / "dev.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "routing"), "dev", "--port", str(port),
         "--demo-episodes", "400", "--data-dir", str(data)],
        cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, quiet = time.monotonic() + 180, 0
        while quiet < 3:  # ready, with no lag, three polls in a row
            assert process.poll() is None, (data / "dev.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "routing dev did not settle in 180 s"
            quiet = quiet + 1 if _settled(base) else 0
            time.sleep(1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _need(Path(CHROMIUM).exists() and Path(DRIVER).exists(), "no /usr/bin/chromium(driver)")
    _need(AXE.exists(), "axe-core not vendored: run scripts/_console_assets.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"console-chromium-{os.getpid()}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "sv-SE,sv"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    # a form's answer is a new page: look for what it shows until it has loaded
    driver.implicitly_wait(15)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
