"""Issue 21 item 7: the README's examples work as written against ``routing dev``, and the
example assessment names a criteria set the care region has adopted (C4), so the routing
decision finds it adequate and the home region liable."""

from __future__ import annotations

import subprocess
from pathlib import Path

from routing.messaging.bundled import free_port
from tests.integration.test_first_hour_cli import ROUTING, _env, _running
from tests.readme_support import json_values, readme_blocks, run_readme_examples


def test_the_readme_shows_the_api_at_work() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 2
    assert "national-digital" in blocks[0]
    assert "min_position" in blocks[1]


def test_readme_examples_run_as_written(tmp_path: Path) -> None:
    port = free_port()
    cmd = [ROUTING, "dev", "--port", str(port), "--data-dir", str(tmp_path / "var"),
           "--demo-episodes", "5"]  # fmt: skip
    with _running(cmd, port, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL):  # fmt: skip
        # the README's `.venv/bin/routing` is the checkout's command, run in the checkout
        outputs = run_readme_examples(port, ROUTING, tmp_path)
    values = [v for v in json_values(outputs[0]) if isinstance(v, dict)]
    decision = next(v for v in values if "assessment_adequate" in v)
    assert decision["assessment_adequate"] is True
    assert decision["liability_preview"]["status"] == "home_region_liable"
    assert decision["liability_preview"]["invoiced_amount"] == 500  # SKR 2019: digital doctor
    criteria = next(v for v in values if v.get("file") == "criteria_sets.json")
    assert ("national-digital", "2025.1") in {(e["id"], e["version"]) for e in criteria["entries"]}
    (invoices,) = json_values(outputs[1])
    assert invoices["month"] == "2026-02"
    assert invoices["careRegion"] == "04"
