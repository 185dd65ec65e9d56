"""A what-if equals a full replay under the same policy.

``routing simulate`` folds the store once and decides every contact under the policy in
force and under the alternative; replaying the liability projection with the alternative
policy must give, per home region, the same contacts and the same amounts the home region
would pay (and with the baseline, what it paid), with progress reported up to the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from projections.db import SQLiteReadModels
from projections.liability import Liability
from projections.replay import replay
from routing.audit.service import simulate
from routing.audit.simulation import Scope, outcome
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.liability.decision import LiabilityDecision
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from routing.store import open_episodes


def _replayed(service: object, policy: RulebookPolicy) -> tuple[Counter[str], Counter[str]]:
    """Per home region: contacts decided, and what the home region pays, by a replay."""
    db = SQLiteReadModels(Path(":memory:"), scratch=True)
    replay(service, db, [Liability(policy, load_catalogue(), load_regions())])  # type: ignore[arg-type]
    contacts: Counter[str] = Counter()
    pays: Counter[str] = Counter()
    with db.transaction() as cur:
        cur.execute("SELECT decision FROM liability_decisions")
        for (raw,) in cur.fetchall():
            d = LiabilityDecision.model_validate_json(raw)
            contacts[d.home_region] += 1
            pays[d.home_region] += outcome(d).amount
    return contacts, pays


def test_what_if_equals_a_replay_under_the_alternative_policy() -> None:
    service = open_episodes(Settings(store=StoreKind.memory, _env_file=None))  # type: ignore[call-arg]
    for episode in generate_episodes(17, 150, start=date(2025, 1, 1), end=date(2025, 12, 31)):
        service.record_batch([parse_event(b) for b in episode])
    baseline = RulebookPolicy()
    alternative = RulebookPolicy(ds_2023_27_effective=date(2025, 1, 1))
    seen: list[tuple[int, int]] = []
    sim = simulate(
        service, baseline, alternative, Scope(frozenset(), date(2000, 1, 1), date(2100, 1, 1)),
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    last = service.recorder.max_notification_id()
    assert seen[-1] == (last, last)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    contacts, paid = _replayed(service, baseline)
    _, would_pay = _replayed(service, alternative)
    assert sum(contacts.values()) > 50
    assert {r: t.contacts for r, t in sim.regions.items()} == dict(contacts)
    assert {r: t.paid for r, t in sim.regions.items()} == {r: paid[r] for r in contacts}
    assert {r: t.would_pay for r, t in sim.regions.items()} == {r: would_pay[r] for r in contacts}
    assert any(t.changed for t in sim.regions.values()), "the policies differ on some contact"
