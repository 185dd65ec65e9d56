"""A what-if equals a full replay under the same policy.

``routing simulate`` folds the store once and decides every contact under the policy in
force and under the alternative; replaying the liability projection with the alternative
policy must give, per home region, the same contacts and the same amounts the home region
would pay (and with the baseline, what it paid), with progress reported up to the end.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from projections import whatif
from projections.db import PostgresReadModels, ReadModelDB, SQLiteReadModels
from projections.liability import Liability
from projections.replay import replay
from routing.audit.service import simulate
from routing.audit.simulation import Scope, outcome
from routing.audit.whatif import decision_class, fine_key
from routing.config import Settings, StoreKind
from routing.demo.generator import generate_episodes
from routing.episodes.events import parse_event
from routing.episodes.service import CareEpisodes
from routing.liability.decision import LiabilityDecision
from routing.liability.engine import decide
from routing.liability.facts import ContactFacts, EpisodeFacts
from routing.liability.inputs import whatif_key
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


ALL = Scope(frozenset(), date(2000, 1, 1), date(2100, 1, 1))
POLICIES = [
    RulebookPolicy(ds_2023_27_effective=date(2025, 1, 1)),
    RulebookPolicy(ds_2023_27_enabled=False),
    RulebookPolicy(ds_2023_27_effective=date(2026, 2, 14)),
]
SCOPES = [
    ALL,
    Scope(frozenset({"01", "12"}), date(2025, 9, 20), date(2025, 10, 10)),  # across Ds 2023:27
    Scope(frozenset(), date(2025, 10, 1), date(2025, 9, 30)),  # empty
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def read_models(request: pytest.FixtureRequest) -> Iterator[ReadModelDB]:
    if request.param == "sqlite":
        db: ReadModelDB = SQLiteReadModels(Path(":memory:"), scratch=True)
    else:
        dsn = request.getfixturevalue("postgres_database")
        db = PostgresReadModels(dsn, f"whatif_{uuid.uuid4().hex[:10]}", scratch=True)
    yield db
    db.close()


def _history(seed: int, episodes: int) -> CareEpisodes:
    """Generated episodes on both sides of Ds 2023:27's date (2025-10-01)."""
    service = open_episodes(Settings(store=StoreKind.memory, _env_file=None))  # type: ignore[call-arg]
    for episode in generate_episodes(seed, episodes, start=date(2025, 6, 1), end=date(2026, 5, 31)):
        service.record_batch([parse_event(b) for b in episode])
    return service


def _built(service: CareEpisodes, db: ReadModelDB) -> ReadModelDB:
    replay(service, db, [Liability(RulebookPolicy(), load_catalogue(), load_regions())])  # type: ignore[arg-type]
    return db


@pytest.mark.parametrize("seed", [3, 29])
def test_the_fast_what_if_equals_the_log_path_and_a_replay(
    read_models: ReadModelDB, seed: int
) -> None:
    service = _history(seed, 120)
    db = _built(service, read_models)
    baseline = RulebookPolicy()
    for alternative in POLICIES:
        for scope in SCOPES:
            log = simulate(service, baseline, alternative, scope)
            fast = whatif.simulate(service, db, None, (baseline, alternative), scope)
            assert fast.path == whatif.FAST, fast.reason
            assert fast.simulation.regions == log.regions
            assert fast.simulation.changes == log.changes
        contacts, would_pay = _replayed(service, alternative)
        whole = whatif.simulate(service, db, None, (baseline, alternative), ALL).simulation
        assert {r: t.would_pay for r, t in whole.regions.items()} == {
            r: would_pay[r] for r in contacts
        }
    assert any(t.changed for t in whole.regions.values())


class _Behind:
    """A position tracker whose liability read model has not caught up."""

    def store_position(self) -> int:
        return 10

    def position(self, name: str, upto: int | None = None) -> int:
        return 7


def test_the_what_if_falls_back_to_the_log_and_says_why(read_models: ReadModelDB) -> None:
    service = _history(5, 30)
    policies = (RulebookPolicy(), POLICIES[0])
    log = simulate(service, *policies, ALL)

    def answer(positions: object = None, db: ReadModelDB | None = read_models) -> whatif.Answer:
        found = whatif.simulate(service, db, positions, policies, ALL)  # type: ignore[arg-type]
        assert found.simulation.regions == log.regions
        assert found.simulation.changes == log.changes
        return found

    assert "no decisions table" in answer().reason
    _built(service, read_models)
    assert answer().path == whatif.FAST
    assert answer(db=None).reason == "asked for the log path"
    assert "at store position 7 of 10" in answer(_Behind()).reason
    with read_models.transaction() as cur:
        one = cur.execute("SELECT episode_id, contact_id FROM liability_decisions "
                          "ORDER BY episode_id, contact_id LIMIT 1").fetchone()  # fmt: skip
    row = {"e": one[0], "c": one[1]}
    where = "WHERE episode_id = :e AND contact_id = :c"
    for column in ("inputs", "whatif_key"):  # one row without: the log answers
        with read_models.transaction() as cur:
            kept = cur.execute(f"SELECT {column} FROM liability_decisions {where}", row).scalar()
            cur.execute(f"UPDATE liability_decisions SET {column} = NULL {where}", row)
        assert "without their inputs" in answer().reason
        with read_models.transaction() as cur:
            cur.execute(f"UPDATE liability_decisions SET {column} = :kept {where}",
                        row | {"kept": kept})  # fmt: skip
        assert answer().path == whatif.FAST
    with read_models.transaction() as cur:  # a table from before the columns: nor their indexes
        for index in ("liability_decisions_unkeyed", "liability_decisions_whatif"):
            cur.execute(f"DROP INDEX IF EXISTS {index}")
    for column in ("inputs", "whatif_key"):
        with read_models.transaction() as cur:
            cur.execute(f"ALTER TABLE liability_decisions DROP COLUMN {column}")
        found = answer()
        assert (found.path, "predates" in found.reason) == (whatif.LOG, True)
    with read_models.transaction() as cur:  # the projection's create adds the columns back
        Liability(RulebookPolicy(), load_catalogue(), load_regions()).create(cur, "")
    assert "without their inputs" in answer().reason


def test_decisions_with_one_fine_key_share_a_class() -> None:
    """The stored key's soundness: contacts whose stored key and classed days are equal (the
    what-if's ``fine_key``) fall in one decision class, whichever dated changes a what-if asks
    about (the catalogue's, with each policy's Ds 2023:27 date, another date, or none), so
    deciding one of them decides them all; and the key is shared (it groups)."""
    catalogue = load_catalogue()
    contacts = _contacts(13, 1500)
    for extra in ({p.ds_2023_27_effective for p in POLICIES}, {date(2025, 11, 17)}, set()):
        changes = sorted(set(catalogue.changes()) | extra)

        def day_class(day: str, changes: list[date] = changes) -> int:
            return bisect_right(changes, date.fromisoformat(day))

        by_key: dict[object, set[object]] = {}
        for c in contacts:
            key, day, days = whatif_key(c)
            if key:
                assert day is not None
                fine = fine_key(key, day, days, day_class)
                by_key.setdefault(fine, set()).add(decision_class(c, changes, catalogue))
        assert len(by_key) < len([c for c in contacts if c.status == "completed"])
        assert all(len(classes) == 1 for classes in by_key.values())


def _contacts(seed: int, episodes: int) -> list[ContactFacts]:
    folds: dict[str, EpisodeFacts] = {}
    for n, episode in enumerate(
        generate_episodes(seed, episodes, start=date(2025, 6, 1), end=date(2026, 5, 31))
    ):
        fold = folds[str(n)] = EpisodeFacts(str(n))
        for raw in episode:
            fold.apply(parse_event(raw))
    return [c for f in folds.values() for c in f.contacts.values() if c.started_at]


def test_every_contact_of_a_decision_class_is_decided_alike() -> None:
    """The grouping's soundness, on many more contacts than the equality above (where most
    classes hold one contact): under each policy every member's outcome is its class's."""
    catalogue, regions = load_catalogue(), load_regions()
    contacts = _contacts(11, 1500)
    changes = sorted(set(catalogue.changes()) | {p.ds_2023_27_effective for p in POLICIES})
    classes: dict[object, list[ContactFacts]] = {}
    for c in contacts:
        classes.setdefault(decision_class(c, changes, catalogue), []).append(c)
    shared = [members for members in classes.values() if len(members) > 1]
    assert sum(len(m) for m in shared) > len(contacts) // 3
    for policy in [RulebookPolicy(), *POLICIES]:
        for members in shared:
            found = {_judged(outcome(decide(c, policy, catalogue, regions))) for c in members}
            assert len(found) == 1, members[0]


def test_policies_that_pick_one_rulebook_decide_alike() -> None:
    """What the what-if's second decision skips (``_rulebooks_differ``): two policies that
    pick the same rulebook for a contact give it the same outcome, however else they differ."""
    catalogue, regions = load_catalogue(), load_regions()
    policies = [RulebookPolicy(), *POLICIES]
    same = 0
    for c in _contacts(12, 600):
        assert c.started_at is not None
        for one in policies:
            for other in policies:
                if one is other or one.for_contact(c.started_at) is not other.for_contact(
                    c.started_at
                ):
                    continue
                same += 1
                assert _judged(outcome(decide(c, one, catalogue, regions))) == _judged(
                    outcome(decide(c, other, catalogue, regions))
                ), c
    assert same > 1000


def _judged(o: object) -> tuple[object, ...]:
    return (o.status, o.amount, o.paying_region, o.rulebook)  # type: ignore[attr-defined]


def test_the_what_if_reads_the_decisions_by_index_not_by_their_rows() -> None:
    """On SQLite the what-if groups from the covering index and asks whether a row lacks its
    key through the partial one (projections/tables.py): a full scan reads every decision's
    JSON too, 0.2 s a million facts for each of the two statements that had one."""
    db = SQLiteReadModels(Path(":memory:"), scratch=True)
    try:
        service = _history(7, 60)
        _built(service, db)
        sqlite = db._conn  # the one connection the engine shares
        statements: list[str] = []
        sqlite.set_trace_callback(statements.append)
        try:
            fast = whatif.simulate(service, db, None, (RulebookPolicy(), POLICIES[1]), ALL)
        finally:
            sqlite.set_trace_callback(None)
        assert fast.path == whatif.FAST
        reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
                 and "FROM liability_decisions" in s]  # fmt: skip
        assert len(reads) >= 3  # the check, the grouping, the members
        sqlite.execute("CREATE TEMPORARY TABLE whatif_changed_keys (changed_key TEXT PRIMARY KEY)")
        plans = {s: " | ".join(row[3] for row in sqlite.execute(f"EXPLAIN QUERY PLAN {s}"))
                 for s in reads}  # fmt: skip
        for statement, plan in plans.items():
            scans = [step for step in plan.split(" | ") if "liability_decisions" in step]
            by_key = all("INDEX" in step or "PRIMARY KEY" in step for step in scans)
            assert by_key, (statement, plan)
        uses = " ".join(plans.values())
        assert "USING INDEX liability_decisions_unkeyed" in uses
        assert "USING COVERING INDEX liability_decisions_whatif" in uses
    finally:
        db.close()
