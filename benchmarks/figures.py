"""Machine-readable figures of a benchmark run (``--json PATH``), for benchmarks/before_after.py.

The file also names where ``routing``, ``api`` and ``projections`` were imported from, so a
comparison of two checkouts can prove each run measured the tree it meant to (the same
virtualenv serves both; PYTHONPATH and the working directory choose the code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import api
import projections
import routing


def code_files() -> dict[str, str]:
    return {m.__name__: str(m.__file__) for m in (routing, api, projections)}


def write(path: Path | None, figures: dict[str, Any]) -> None:
    """Write ``figures`` (and where the code came from) to ``path``; nothing when no path."""
    if path is not None:
        path.write_text(json.dumps({"code": code_files(), **figures}, indent=2) + "\n")
