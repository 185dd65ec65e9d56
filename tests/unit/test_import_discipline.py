"""Imports sit at the top of a module: an import inside a function is allowed only with a
``# lazy:`` reason (start-up cost, an optional client), never to dodge a cycle, which the
import contract (``lint-imports``, pyproject.toml) forbids anyway."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "src" / "routing", ROOT / "api", ROOT / "projections"]


def unexplained(source: str) -> list[int]:
    """Line numbers of function-level imports with no ``# lazy:`` reason on their line or on
    a comment line right above their group of consecutive imports."""
    lines = source.splitlines()
    found: set[tuple[int, int]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    found.add((sub.lineno, sub.end_lineno or sub.lineno))
    ends = {end: start for start, end in found}
    bad = []
    for start, _ in sorted(found):
        first = start
        while first - 1 in ends:  # walk up to the first import of the group
            first = ends[first - 1]
        above = lines[first - 2].strip() if first >= 2 else ""
        if "# lazy:" not in lines[start - 1] and not above.startswith("# lazy:"):
            bad.append(start)
    return bad


def test_the_check_flags_an_import_without_a_reason() -> None:
    source = (
        "def f():\n"
        "    # lazy: start-up\n"
        "    import json\n"
        "    import os\n"
        "\n"
        "    import csv\n"
        "\n"
        "def g():\n"
        "    import sys  # lazy: optional\n"
    )
    assert unexplained(source) == [6]


def test_every_function_level_import_says_why_it_is_lazy() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted(package.rglob("*.py"))
        for line in unexplained(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "imports inside functions without a '# lazy:' reason"
