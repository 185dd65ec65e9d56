"""Policy simulation: what each home region paid versus what it would have paid under another
rulebook policy, from the store's facts, with the live projection's rule functions."""

from __future__ import annotations

from datetime import date

import pytest

from routing.audit import service as audit
from routing.audit.models import SimulationIn, simulation_out
from routing.audit.simulation import Scope
from routing.demo.generator import generate_episodes
from routing.episodes.service import CareEpisodes
from routing.liability.rulebooks import RulebookPolicy
from tests.audit_support import record

IN_FORCE = RulebookPolicy(True, date(2025, 10, 1))
YEAR = Scope(frozenset(), date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture(scope="module")
def service() -> CareEpisodes:
    svc = CareEpisodes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for episode in generate_episodes(5, 1500, start=date(2025, 1, 1), end=date(2026, 1, 1)):
        record(svc, episode)
    return svc


def test_the_policy_in_force_changes_nothing(service: CareEpisodes) -> None:
    sim = audit.simulate(service, IN_FORCE, IN_FORCE, YEAR)
    assert sim.changes == []
    assert sum(r.contacts for r in sim.regions.values()) > 300
    assert all(r.paid == r.would_pay for r in sim.regions.values())
    assert sum(r.paid for r in sim.regions.values()) > 0


def test_ds_2023_27_applied_to_the_whole_year(service: CareEpisodes) -> None:
    """Moving the effective date to 1 January changes only contacts before 1 October (after
    it both policies apply Ds 2023:27), and the totals add up to the listed changes."""
    alternative = RulebookPolicy(True, date(2025, 1, 1))
    sim = audit.simulate(service, IN_FORCE, alternative, YEAR)
    assert sim.changes, "Ds 2023:27 changes who pays for some digital contacts"
    assert all(c.contact_date and c.contact_date < date(2025, 10, 1) for c in sim.changes)
    assert all(c.after.rulebook == "ds-2023-27" for c in sim.changes)
    for region in sim.regions.values():
        mine = [c for c in sim.changes if c.home_region == region.home_region]
        assert region.changed == len(mine)
        assert region.difference == sum(c.after.amount - c.before.amount for c in mine)
    assert sum(r.difference for r in sim.regions.values()) != 0


def test_switching_it_off_is_scoped_to_the_chosen_regions(service: CareEpisodes) -> None:
    scope = Scope(frozenset({"14", "01"}), date(2025, 10, 1), date(2025, 12, 31))
    sim = audit.simulate(service, IN_FORCE, RulebookPolicy(False), scope)
    assert set(sim.regions) <= {"14", "01"}
    assert sim.regions
    assert all(c.home_region in {"14", "01"} for c in sim.changes)
    assert all(c.after.rulebook == "riksavtal" for c in sim.changes)
    out = simulation_out(sim, limit=3)
    assert len(out.changes) == min(3, len(sim.changes))
    assert out.changed_total == len(sim.changes)


def test_bad_requests_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown home region"):
        SimulationIn(home_regions=["99"], start=date(2025, 1, 1), end=date(2025, 2, 1))


def test_an_empty_period_is_an_empty_answer(service: CareEpisodes) -> None:
    """`end` before `start` (the API's schema cannot relate the two fields): no contact lies
    in the period, so no region pays anything and nothing changes; not a refusal."""
    backwards = SimulationIn(start=date(2025, 12, 31), end=date(2025, 10, 1)).scope()
    sim = audit.simulate(service, IN_FORCE, RulebookPolicy(False), backwards)
    assert sim.facts > 0, "the store was read"
    assert sim.regions == {}
    assert sim.changes == []
