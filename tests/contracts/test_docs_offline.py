"""/docs works offline (issue 21, item 6): a real server, and headless Chromium whose every
request outside 127.0.0.1 goes to a closed port, renders every operation of the document.
FastAPI's own page loaded Swagger UI from a CDN and rendered nothing offline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from routing.messaging.bundled import free_port
from tests.contracts.tools import ROOT, chromium

SERVE = """
import sys, uvicorn
from api.app import create_app
from routing.config import Settings, StoreKind
from tests.auth_support import TEST_KEYS
app = create_app(Settings(store=StoreKind.memory, _env_file=None, **TEST_KEYS))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env={**os.environ, "CI": "true"}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def test_the_page_names_no_other_host(base_url: str) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(base_url + page).text
        assert "https://" not in html, page
        assert "http://" not in html, page
    assert httpx.get(f"{base_url}/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_swagger_ui_renders_every_operation_offline(base_url: str) -> None:
    dom = subprocess.run(
        [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
         "--proxy-server=http://127.0.0.1:9",  # closed: only 127.0.0.1 (bypassed) answers
         "--virtual-time-budget=10000", "--dump-dom", f"{base_url}/docs"],
        capture_output=True, text=True, timeout=120, check=False,
    ).stdout  # fmt: skip
    operations = sum(
        len(ops) for ops in httpx.get(f"{base_url}/openapi.json").json()["paths"].values()
    )
    assert operations >= 30
    assert dom.count('class="opblock ') == operations, dom[:2000]
