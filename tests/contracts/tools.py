"""The official validators the contract tests drive, installed by scripts/_contracts.sh.

A missing tool fails the test that needs it (never a skip: CI must run every contract check),
with the command that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "contracts" / "node"
PROMTOOL = ROOT / ".tools" / "promtool"
INSTALL = "run: bash -c '. scripts/_contracts.sh' in the repository (as in scripts/test.sh)"


def asyncapi_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """``node asyncapi-validate.mjs <path>``: the official @asyncapi/parser's verdict."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail(f"node or @asyncapi/parser is not installed; {INSTALL}")
    return subprocess.run(
        [node, str(NODE_DIR / "asyncapi-validate.mjs"), str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def promtool_check_metrics(exposition: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` (Prometheus' own linter) over one scrape's text."""
    tool = str(PROMTOOL) if PROMTOOL.exists() else shutil.which("promtool")
    if tool is None:
        pytest.fail(f"promtool is not installed; {INSTALL}")
    return subprocess.run(
        [tool, "check", "metrics"],
        input=exposition, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def chromium() -> str:
    """A headless-capable Chromium (Debian's ``chromium``)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail(f"chromium is not installed; {INSTALL}")
