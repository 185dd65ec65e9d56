"""Issue 21 item 8: every source a rule trace cites resolves inside the repository or to a
public document: ``docs/domain.md R9`` must name a rule that docs/domain.md defines, anything
else must name a document of docs/domain.md's sources table, and nothing may point at files
the repository does not carry (the seeds, a reference file, ../shared)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from routing.kernel import rules as rr

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "docs" / "domain.md"
RULE_CODE = [
    ROOT / "src/routing" / d for d in ("liability", "necessity", "decisions", "guarantee", "kernel")
]
DATA = ROOT / "src/routing/reference/data"
UNRESOLVABLE = re.compile(r"\bseeds?\b|reference §|\.\./shared|(?<!docs/)\bdomain\.md")
DOC_REF = re.compile(r"docs/domain\.md (R\d+|C\d+|§\d+\.\d+)")


def _anchors() -> set[str]:
    text = DOMAIN.read_text(encoding="utf-8")
    rules = set(re.findall(r"^- \*\*((?:R|C)\d+)\*\*", text, re.MULTILINE))
    sections = {"§" + s for s in re.findall(r"^### (\d+\.\d+) ", text, re.MULTILINE)}
    return rules | sections


def _citations() -> list[str]:
    text = DOMAIN.read_text(encoding="utf-8").split("## Sources", 1)[1]
    rows = re.findall(r"^\| ([^|]+?) \| [^|]+ \|$", text, re.MULTILINE)
    return [r for r in rows if r not in ("citation", "---")]


def _joined(node: ast.AST, constants: dict[str, str]) -> str | None:
    """A string literal, a constant's name, or an f-string of those; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [
            _joined(v.value if isinstance(v, ast.FormattedValue) else v, constants)
            for v in node.values
        ]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    return None


ABSENCE = {rr.NO_REQUIREMENT}
"""Registered citations that name an absence in the reference data, not a document."""


def code_sources() -> dict[str, set[str]]:
    """Per module: the SRC_* constants and the third argument of every ``add``/``note`` call
    (the trace helpers' ``source``), and every ``source=`` keyword; and, as the module
    src/routing/kernel/rules.py, every source the rule registry registers (issue 19: the
    traces take their sources from there)."""
    registry = {s for r in rr.RULES.values() for s in r.sources} - ABSENCE
    found: dict[str, set[str]] = {"src/routing/kernel/rules.py": registry}
    for folder in RULE_CODE:
        for path in sorted(folder.glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants: dict[str, str] = {}
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and target.id.startswith("SRC_"):
                        value = _joined(node.value, constants)
                        if value is not None:
                            constants[target.id] = value
            sources = set(constants.values())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in ("add", "note") and len(node.args) >= 3:
                    value = _joined(node.args[2], constants)
                    if value is not None:
                        sources.add(value)
                for kw in node.keywords:
                    if kw.arg == "source" and (value := _joined(kw.value, constants)):
                        sources.add(value)
            if sources:
                found[str(path.relative_to(ROOT))] = sources
    return found


def data_sources() -> set[str]:
    out: set[str] = set()
    for path in DATA.glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        out |= {e["source"] for e in raw.get("entries", []) if "source" in e}
        out |= set(raw.get("sources", []))
    return out


def test_the_scan_finds_the_rule_code_sources() -> None:
    found = code_sources()
    assert "src/routing/kernel/rules.py" in set(found)
    assert sum(len(s) for s in found.values()) >= 20


@pytest.mark.parametrize("module", sorted(code_sources()))
def test_every_code_trace_source_resolves(module: str) -> None:
    anchors, citations = _anchors(), _citations()
    for source in code_sources()[module]:
        assert not UNRESOLVABLE.search(source), f"{module}: {source!r} cites what is not here"
        for anchor in DOC_REF.findall(source):
            assert anchor in anchors, f"{module}: docs/domain.md has no {anchor} ({source!r})"
        assert DOC_REF.search(source) or any(c in source for c in citations), (
            f"{module}: {source!r} names neither a docs/domain.md rule nor a listed source"
        )


def test_the_absence_marker_is_what_it_says() -> None:
    """The one registered citation that is not a document says so (R8, nothing recorded)."""
    assert {"no referral requirement recorded"} == ABSENCE
    assert set(rr.R8.sources) >= ABSENCE


def test_every_reference_data_source_resolves() -> None:
    anchors = _anchors()
    for source in data_sources():
        assert not UNRESOLVABLE.search(source), f"reference data: {source!r}"
        for anchor in DOC_REF.findall(source):
            assert anchor in anchors, f"docs/domain.md has no {anchor} ({source!r})"


def test_domain_document_defines_the_rules_and_choices() -> None:
    anchors = _anchors()
    assert {f"R{n}" for n in range(1, 23)} <= anchors
    assert {f"C{n}" for n in range(1, 11)} <= anchors
    assert {"SOU 2021:59", "Ds 2023:27", "Riksavtalet för utomlänsvård"} <= set(_citations())


def test_readme_points_only_at_what_the_repository_carries() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    assert not re.search(r"(?<!docs/)\bdomain\.md", readme)
    named = r"`((?:docs|src|api|projections|benchmarks|deploy|scripts)/[^`\s]+)`"
    for path in set(re.findall(named, readme)):
        assert (ROOT / path.rstrip("/")).exists(), f"README names {path}, which does not exist"
