"""Issue 21: the first hour of a new user, scripted. A fresh clone of this repository; the
stack started on a port that is not the default, the way the README says; a token from
another directory, by the command the banner prints, without an activated venv; a journey
posted and read back with read-your-writes; a month closed and its specification fetched at
once; the README's examples as written; and /docs opened in headless Chromium with every host
but the stack's unreachable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from routing.messaging.bundled import free_port
from tests import support as f
from tests.integration.test_first_hour_cli import _env, _stop, _wait_healthy
from tests.integration.test_read_your_writes import ADEQUATE, _caught_up
from tests.readme_support import run_readme_examples

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@dataclass
class Stack:
    clone: Path
    elsewhere: Path
    port: int
    banner: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("first-hour")
    clone, elsewhere = tmp / "routing", tmp / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    out = tmp / "dev.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            ["./scripts/dev.sh", "--port", str(port), "--demo-episodes", "20"],
            cwd=clone, env=_env(COLUMNS="250"), stdin=subprocess.DEVNULL, stdout=sink,
            stderr=sink,
        )  # fmt: skip
    try:
        _wait_healthy(proc, port, timeout=900)  # the clone installs its own venv first
        yield Stack(clone, elsewhere, port, out)
    finally:
        _stop(proc)


def _token(stack: Stack, *roles: str) -> str:
    """The banner's command, run from another directory, the clone's venv not on PATH."""
    banner = " ".join(stack.banner.read_text().split())
    command = re.search(r"\$\((\S+/routing token) --role auditor\)", banner)
    assert command, banner[-2000:]
    assert command.group(1) == f"{stack.clone}/.venv/bin/routing token"
    path = ":".join(p for p in os.environ["PATH"].split(":") if ".venv" not in p)
    args = [a for r in roles for a in ("--role", r)]
    done = subprocess.run(
        [*command.group(1).split(), *args], cwd=stack.elsewhere,
        env=_env(PATH=path), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert not (stack.elsewhere / "var").exists()
    return done.stdout.strip()


def test_first_hour(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {_token(stack, 'front_end', 'finance', 'auditor')}"}
    _caught_up(stack.base, timeout=120)
    episode = str(uuid.uuid4())
    journey = f.typical_journey(episode, f.T0.replace(year=2026, month=1))
    journey[2] |= ADEQUATE
    posted = httpx.post(f"{stack.base}/events/batch", headers=auth, json={"events": journey})
    assert posted.status_code == 201, posted.text
    at = {"min_position": posted.json()["position"]}
    history = httpx.get(f"{stack.base}/episodes/{episode}/history", headers=auth, params=at)
    assert [e["type"] for e in history.json()["events"]] == [b["type"] for b in journey]
    contact = httpx.get(
        f"{stack.base}/finance/contacts/{episode}/c1", headers=auth, params=at, timeout=10
    )
    assert contact.status_code == 200, contact.text
    assert contact.json()["decision"]["status"] == "home_region_liable"
    closing = {
        "event_id": str(uuid.uuid4()), "home_region": "14", "care_region": "04",
        "month": "2026-01", "occurred_at": "2026-02-02T09:00:00+01:00", "source": "vgr-finance",
    }  # fmt: skip
    closed = httpx.post(f"{stack.base}/finance/months/close", headers=auth, json=closing)
    assert closed.status_code == 201, closed.text
    spec = httpx.get(
        f"{stack.base}/finance/invoices", headers=auth, timeout=10,
        params={"care_region": "04", "home_region": "14", "month": "2026-01",
                "min_position": closed.json()["position"]},
    )  # fmt: skip
    assert spec.status_code == 200, spec.text
    lines = spec.json()["processClaimSpecifications"][0]["healthcareServicesSpecificationLine"]
    assert f"{episode}:c1" in {x["careContactId"] for x in lines}
    routing = f"{stack.clone}/.venv/bin/routing"
    run_readme_examples(stack.port, routing, stack.clone)


def _browser() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"chromium-{uuid.uuid4().hex}"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}",
                # every host but the stack's is unreachable: a page that needs a CDN stays blank
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.profile_dir = profile  # type: ignore[attr-defined]
    return driver


def test_docs_render_offline(stack: Stack) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert CHROMIUM.exists(), "scripts/_chromium.sh installs chromium (apt, as root)"
    assert CHROMEDRIVER.exists(), "scripts/_chromium.sh installs chromium-driver"
    page = httpx.get(f"{stack.base}/docs").text
    needs_cdn = bool(re.search(r"""(?:src|href)=["']https?://""", page))
    driver = _browser()
    began = time.monotonic()
    try:
        driver.get(f"{stack.base}/docs")  # type: ignore[attr-defined]
        title = (By.CSS_SELECTOR, ".swagger-ui .info .title")
        try:
            WebDriverWait(driver, 20).until(ec.visibility_of_element_located(title))
            rendered = driver.find_element(*title).text  # type: ignore[attr-defined]
        except TimeoutException:
            rendered = None
    finally:
        driver.quit()  # type: ignore[attr-defined]
        shutil.rmtree(driver.profile_dir, ignore_errors=True)  # type: ignore[attr-defined]
    if needs_cdn:
        # Swagger UI's assets come from a CDN here, which the browser cannot reach: the page
        # stays blank (the network really is blocked). Serving them from the package is
        # branch contracts' part of issue 21; after the merge this test runs in full.
        assert rendered is None
        waited = time.monotonic() - began
        pytest.xfail(f"/docs loads Swagger UI from a CDN: blank offline ({waited:.0f} s)")
    assert rendered is not None, "Swagger UI did not render with the network blocked"
    assert rendered.startswith("routing")
