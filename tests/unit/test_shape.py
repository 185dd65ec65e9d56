"""Issue 19: functions stay short and files hold one idea.

No function or method in the checked trees is longer than ``MAX_FUNCTION`` lines (from its
``def`` to its last line, decorators and docstring included), and a file longer than
``MAX_FILE`` lines says why on its first line: ``# Over 300 lines because <reason>.`` (the
convention the README's layout section describes).

``TREES`` is the parameter: src/routing, projections/ and api/ are checked; in tests/ only
the files' length (a test's table or scenario may run long).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREES = ("src/routing", "projections", "api")
MAX_FUNCTION = 60
MAX_FILE = 300
REASON = re.compile(r"^# Over 300 lines because \S.{8,}$")


def _files(trees: tuple[str, ...] = TREES) -> list[Path]:
    return [p for tree in trees for p in sorted((ROOT / tree).rglob("*.py"))]


def long_functions(source: str, limit: int = MAX_FUNCTION) -> list[tuple[str, int]]:
    """(name, lines) of every function in ``source`` longer than ``limit`` lines."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > limit:
                out.append((node.name, length))
    return out


def unexplained_length(source: str, limit: int = MAX_FILE) -> bool:
    """True when ``source`` is over ``limit`` lines and its first line gives no reason."""
    lines = source.splitlines()
    return len(lines) > limit and not REASON.match(lines[0])


def test_the_checks_catch_what_they_are_for() -> None:
    """The two checks fail on a long function and on a long file without a reason."""
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    assert long_functions(f"def f() -> None:\n{body}\n") == [("f", 61)]
    shorter = "\n".join(body.splitlines()[:59])  # 59 lines + def + decorator: 61
    assert long_functions(f"@decorator\ndef f() -> None:\n{shorter}\n") == [("f", 61)]
    assert long_functions("def f() -> None:\n    pass\n") == []
    long_file = "x = 1\n" * 301
    assert unexplained_length(long_file)
    assert not unexplained_length("# Over 300 lines because it must be one thing.\n" + long_file)
    assert not unexplained_length("x = 1\n" * 300)


def test_the_trees_are_there() -> None:
    assert len(_files()) > 50


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_long_function_and_no_unexplained_long_file(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert long_functions(source) == [], f"functions over {MAX_FUNCTION} lines"
    assert not unexplained_length(source), (
        f"{len(source.splitlines())} lines: split it, or say why on its first line "
        "('# Over 300 lines because ...')"
    )


@pytest.mark.parametrize("path", _files(("tests",)), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unexplained_long_test_file(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not unexplained_length(source), (
        f"{len(source.splitlines())} lines: split it, or say on its first line what single "
        "idea it tests and why that is long ('# Over 300 lines because ...')"
    )
