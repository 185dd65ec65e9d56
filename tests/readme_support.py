"""Runs the README's shell examples against a running stack, as a reader would paste them:
the port and the ``routing`` command are the only things changed, and every ``curl`` fails the
run on an HTTP error (``--fail-with-body``)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def readme_blocks(readme: Path = ROOT / "README.md") -> list[str]:
    """The ```bash blocks that talk to the API (the first two start the stack and the tests)."""
    blocks = re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)
    return [b for b in blocks if "localhost:8000" in b]


def run_readme_examples(port: int, routing: str, cwd: Path) -> list[str]:
    """Runs the blocks in one shell, one after the other as a reader pastes them (the second
    uses the first's TOKEN); returns each block's output. ``routing`` replaces
    ``.venv/bin/routing`` (e.g. the path of another checkout's command)."""
    script = f"\necho {MARK}\n".join(readme_blocks())
    script = (
        script.replace("localhost:8000", f"127.0.0.1:{port}")
        .replace(".venv/bin/routing", routing)
        .replace("curl -s ", "curl -sS --fail-with-body ")
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"README examples failed:\n{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout.split(MARK + "\n")


MARK = "=====next-readme-block====="


def json_values(text: str) -> list[Any]:
    """The JSON documents curl printed back to back (no newline between them)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while (i := _skip(text, i)) < len(text):
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i
