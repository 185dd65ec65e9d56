"""Issue 19: one rule registry. Every trace step the rule code writes names a registered rule
and cites a source that rule registers (or, for a rule on dated reference data, the row's own
source); no rule code builds a step by hand; the statuses match docs/domain.md; and every
registered source resolves to docs/domain.md (test_trace_sources.py checks the citations).

The traces are gathered by running the rule code itself (liability, necessity, the routing
decision, the care guarantee) over a year of generated episodes and a grid of questions, so a
rule id written anywhere on those paths and not registered fails here."""

from __future__ import annotations

import ast
import itertools
import re
import uuid
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from routing.config import Settings
from routing.decisions.advise import advise
from routing.decisions.question import RoutingQuestion
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.guarantee.clocks import episode_clocks
from routing.guarantee.reference import guarantee_rules
from routing.kernel import rules as rr
from routing.kernel.rules import RULES, Rule, Status, TraceStep, UnregisteredSourceError
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.necessity.classify import classify
from routing.necessity.facts import NecessityFacts
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "docs" / "domain.md"


@cache
def written_steps() -> dict[str, list[TraceStep]]:
    """Every trace step the four rule paths write for generated data, by path."""
    policy, cat, reg = (
        Settings.model_construct().rulebook_policy(),
        load_catalogue(),
        load_regions(),
    )
    out: dict[str, list[TraceStep]] = {"liability": [], "necessity": [], "guarantee": []}
    for bodies in generate_episodes(11, 400, start=date(2019, 6, 1), end=date(2026, 3, 1)):
        events = [parse_event(b) for b in bodies]
        facts, visits = EpisodeFacts(str(bodies[0]["episode_id"])), NecessityFacts("e")
        for e in events:
            facts.apply(e)
            visits.apply(e)
        for c in facts.contacts.values():
            out["liability"] += decide(c, policy, cat, reg).trace
        for v in visits.contacts.values():
            if v.held_at is not None:
                out["necessity"] += classify(v, policy).trace
        for clock in episode_clocks(events):
            out["guarantee"] += clock.trace
    out["decisions"] = [s for q in _questions() for s in advise(q, policy, cat, reg).trace]
    return out


def _questions() -> list[RoutingQuestion]:
    grid = itertools.product(
        [("14", "1480"), ("04", "0480")], ["04", None], ["chat", "physical"],
        ["2025-09-03T10:00:00+02:00", "2025-11-03T10:00:00+01:00", "2010-01-01T10:00:00+01:00"],
        ["primary", "inpatient"], [True, False], [True, False], [None, "emergency"],
    )  # fmt: skip
    out = []
    for i, (home, care, mode, start, level, digital, prefers, urgency) in enumerate(grid):
        q: dict[str, object] = {
            "request_id": str(uuid.UUID(int=i)), "planned_start": start, "care_region": care,
            "home_region": {"county": home[0], "municipality": home[1]}, "care_level": level,
            "requested_mode": mode, "can_use_digital_tools": digital,
            "patient_prefers_physical": prefers,
        }  # fmt: skip
        if urgency:
            q["triage"] = {"urgency": urgency}
        out.append(RoutingQuestion.model_validate(q))
    return out


@pytest.mark.parametrize("path", ["liability", "necessity", "guarantee", "decisions"])
def test_every_rule_a_trace_names_is_registered_with_that_source(path: str) -> None:
    steps = written_steps()[path]
    assert len(steps) > 100, f"the {path} path wrote too few steps to say anything"
    for s in steps:
        assert s.rule in RULES, f"{path}: trace names rule {s.rule!r}, not in the registry"
        rule = RULES[s.rule]
        assert s.source in rule.sources or rule.data, f"{path}: {s.rule} cites {s.source!r}"


def test_the_traces_reach_most_of_the_registry() -> None:
    """The gathering above is broad enough to mean something: it meets the liability rules of
    domain.md §4.3-4.5 and the guarantee's verdicts."""
    seen = {s.rule for steps in written_steps().values() for s in steps}
    assert {"C1", "C3", "C4", "R2", "R8", "R9", "R11", "R13", "R14", "C6", "R4", "R5", "R6",
            "limit", "day count", "met", "HSL 9 kap. 1 §"} <= seen  # fmt: skip
    assert len(seen) >= 25, sorted(seen)


def test_no_rule_code_builds_a_trace_step_by_hand() -> None:
    """A step made outside the registry could name any rule: only ``Rule.step`` builds one."""
    for path in sorted((ROOT / "src/routing").rglob("*.py")):
        if path.name == "rules.py" and path.parent.name == "kernel":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                assert name != "TraceStep", f"{path.relative_to(ROOT)}:{node.lineno} TraceStep("


def test_a_rule_refuses_a_source_it_does_not_register() -> None:
    assert rr.R9.step("x").source == rr.DS
    with pytest.raises(UnregisteredSourceError):
        rr.R9.step("x", "a blog post")
    assert rr.R11.step("x", "a price list row").source == "a price list row"  # data rule
    with pytest.raises(KeyError, match="R99"):
        rr.rule("R99")


def test_the_guarantee_answer_rule_of_the_data_is_registered() -> None:
    """timing.py names the 14-day answer by the id the reference data give it."""
    answer = guarantee_rules().answer_rule
    assert rr.rule(answer.id).status == (Status.proposal,)


def _domain_statuses() -> dict[str, set[str]]:
    """R-rules whose docs/domain.md entry opens with a status: ``**R8** (RIKSAVTAL, LAW: ...``."""
    text = DOMAIN.read_text(encoding="utf-8")
    out = {}
    for rule_id, head in re.findall(r"^- \*\*(R\d+)\*\* \(([A-Z, ]+)", text, re.MULTILINE):
        out[rule_id] = {w.strip() for w in head.split(",") if w.strip()}
    return out


def test_statuses_are_those_of_docs_domain() -> None:
    statuses = _domain_statuses()
    assert {"R8", "R9", "R13", "R14", "R15"} <= set(statuses)  # the parse found them
    for rule_id, words in statuses.items():
        if rule_id in RULES:
            assert words <= {s.value for s in RULES[rule_id].status}, rule_id
    for rule in RULES.values():
        if re.fullmatch(r"C\d+", rule.id):
            assert rule.status == (Status.choice,), rule.id


def test_rule_ids_of_docs_are_registered_once() -> None:
    ids = [r.id for r in vars(rr).values() if isinstance(r, Rule)]
    assert len(ids) == len(set(ids)) == len(RULES)
    defined = set(re.findall(r"^- \*\*((?:R|C)\d+)\*\*", DOMAIN.read_text(), re.MULTILINE))
    assert {i for i in RULES if re.fullmatch(r"[RC]\d+", i)} <= defined
