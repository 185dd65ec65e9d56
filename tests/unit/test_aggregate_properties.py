"""Properties of the care-episode aggregate over random sequences of facts (hypothesis).

Random facts for one episode are posted one by one to ``CareEpisodes`` on the in-memory store,
once without and once with the aggregate cache (as the API runs it). Each fact is recorded or
refused with ``EventRejected``; a retry of a recorded fact is replayed. Whatever the sequence:
refused facts change nothing, the version counts the recorded facts, and the state reloaded
from the store equals a fresh replay of the recorded facts by the pure journey rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.episodes.events import parse_event
from routing.episodes.journey import EpisodeState, RuleBroken
from routing.episodes.service import CareEpisodes, EpisodeNotFound, EventRejected, Recorded
from tests import support as f
from tests.support import Body, replay

EP = UUID("7e57a9d1-0c4b-4f8e-a2d3-9b8c7d6e5f40")
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CACHED = {**POPO, "AGGREGATE_CACHE_MAXSIZE": "50", "AGGREGATE_CACHE_FASTFORWARD": "y"}
MODES = ["chat", "video", "phone", "async_message"]

Action = tuple[str, str, str, str, bool, int]
"""(kind, contact id, referral id, mode, variant flag, minute or earlier-fact index)."""

KINDS = [*sorted(f.FACTORIES), "retry", "reuse_event_id", *["follow"] * 12]
"""``follow`` is the natural next step of the journey, so that long valid runs happen too."""

actions = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["r1", "r2"]),
    st.sampled_from(MODES),
    st.booleans(),
    st.integers(0, 600),
)


def follow(state: EpisodeState | None, c: str, r: str, alt: bool) -> str:
    """The kind of fact that would normally come next for contact ``c`` (or referral ``r``)."""
    contact = state.contacts.get(c) if state else None
    if contact is None:
        return "contact_requested"
    if contact.status == "requested":
        if contact.open_offer is not None:
            return "offer_declined" if alt else "offer_accepted"
        return "distance_contact_offered" if alt else "contact_started"
    if contact.status == "started":
        return "contact_mode_changed" if alt else "contact_completed"
    if contact.status == "booked":
        return "physical_visit_held"
    referral = state.referrals.get(r) if state else None
    if referral is None:
        return "referral_issued"
    return "referral_rejected" if alt else "referral_accepted"


def build(kind: str, c: str, r: str, mode: str, alt: bool, minute: int) -> Body:
    """One fact of episode EP; ``alt`` picks the less common variant of each fact."""
    at = {"occurred_at": (f.T0.replace(hour=8) + timedelta(minutes=minute)).isoformat()}
    other = MODES[(MODES.index(mode) + 1) % len(MODES)]
    match kind:
        case "contact_requested":
            patient = f.OTHER_PATIENT if alt and c == "c2" else f.PATIENT
            return f.contact_requested(EP, c, requested_mode=mode, patient=patient, **at)
        case "triage_completed":
            return f.triage_completed(EP, None if alt else c, **at)
        case "need_and_suitability_assessed":
            fail = {"outcome": "physical_required", "failed_principles": ["follow_up_not_possible"]}
            return f.need_and_suitability_assessed(EP, c, **(fail if alt else {}), **at)
        case "distance_contact_offered":
            return f.distance_contact_offered(EP, c, modes=[mode, other] if alt else [mode], **at)
        case "treatment_decided":
            return f.treatment_decided(EP, "t" + r[1], referral_id=r if alt else None, **at)
        case "home_region_corrected":
            home = f.HOME if alt else {"county": "13", "municipality": "1380"}
            return f.home_region_corrected(EP, home_region=dict(home), **at)
        case "referral_issued" | "referral_accepted" | "referral_rejected":
            return f.FACTORIES[kind](EP, r, **at)
        case "offer_accepted" | "contact_started" | "contact_mode_changed" | "contact_completed":
            return f.FACTORIES[kind](EP, c, mode=mode, **at)
        case _:
            return f.FACTORIES[kind](EP, c, **at)


@dataclass
class Run:
    """The store under test and what the test knows was recorded."""

    app: CareEpisodes
    accepted: list[Body] = field(default_factory=list)

    def snapshot(self) -> tuple[int, tuple[EpisodeState, int] | None]:
        try:
            return self.app.event_count(), self.app.episode(EP)
        except EpisodeNotFound:
            return self.app.event_count(), None


def attempt(app: CareEpisodes, bodies: list[Body]) -> list[Recorded] | EventRejected:
    """Records ``bodies`` as one batch; a refusal is returned, not raised."""
    try:
        return app.record_batch([parse_event(b) for b in bodies])
    except EventRejected as rejected:
        return rejected


def expected_rule(accepted: list[Body], body: Body) -> str | None:
    """What the pure rules say about ``body`` after ``accepted``: None, or the broken rule."""
    try:
        if not accepted:
            EpisodeState.open(parse_event(body))
        else:
            replay(accepted).check(parse_event(body))
    except RuleBroken as broken:
        return broken.rule
    return None


def step(run: Run, action: Action) -> str:
    """Posts one action; checks the invariants of that step and returns its outcome."""
    kind, *params, index = action
    before = run.snapshot()
    if kind in ("retry", "reuse_event_id") and run.accepted:
        earlier = run.accepted[index % len(run.accepted)]
        version = run.accepted.index(earlier) + 1
        if kind == "retry":
            result = run.app.record(parse_event(earlier))
            assert (result.replayed, result.episode_version) == (True, version)
            assert run.snapshot() == before
            return "replayed"
        body: Body = {**f.triage_completed(EP, None), "event_id": earlier["event_id"]}
        outcome = attempt(run.app, [body])
        assert isinstance(outcome, EventRejected), "a used event id with another body was recorded"
        assert outcome.code == "event_id_reused"
        assert run.snapshot() == before
        return "refused"
    if kind in ("retry", "reuse_event_id"):
        kind = "triage_completed"
    if kind == "follow":
        c, r, _, alt = params
        kind = follow(replay(run.accepted) if run.accepted else None, c, r, alt)  # type: ignore[arg-type]
    body = build(kind, *params, index)  # type: ignore[arg-type]
    rule = expected_rule(run.accepted, body)
    outcome = attempt(run.app, [body])
    if isinstance(outcome, EventRejected):
        assert outcome.code == rule, body
        assert run.snapshot() == before
        return "refused"
    assert rule is None, f"{rule} should have refused {body}"
    run.accepted.append(body)
    [result] = outcome
    assert result.replayed is False
    assert result.episode_version == len(run.accepted)
    count, now = run.snapshot()
    assert count == before[0] + 2  # the fact and its event-id receipt
    assert now is not None
    assert now[1] == len(run.accepted)
    return "recorded"


def check_final(run: Run) -> None:
    if not run.accepted:
        assert run.snapshot() == (0, None)
        return
    state, version = run.app.episode(EP)
    assert version == len(run.accepted)
    assert state == replay(run.accepted)
    history = run.app.history(EP)
    assert [str(h.event_id) for h in history] == [b["event_id"] for b in run.accepted]
    assert [h.version for h in history] == list(range(1, version + 1))
    assert [h.data for h in history] == [parse_event(b).data() for b in run.accepted]


opening = st.builds(
    lambda mode, minute: ("contact_requested", "c1", "r1", mode, False, minute),
    st.sampled_from(MODES),
    st.integers(0, 600),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.one_of(opening, actions),
    rest=st.lists(actions, max_size=30),
)
def test_random_sequences_keep_the_store_consistent(first: Action, rest: list[Action]) -> None:
    runs = [Run(CareEpisodes(env=POPO)), Run(CareEpisodes(env=CACHED))]
    for action in [first, *rest]:
        outcomes = {step(run, action) for run in runs}
        assert len(outcomes) == 1, f"cached and uncached stores disagree on {action}"
    for run in runs:
        check_final(run)
    fresh = CareEpisodes(env=POPO)
    if runs[0].accepted:
        fresh.record_batch([parse_event(b) for b in runs[0].accepted])
        assert fresh.episode(EP) == runs[0].app.episode(EP) == runs[1].app.episode(EP)


batch_actions = actions.filter(lambda a: a[0] not in ("retry", "reuse_event_id"))


@settings(max_examples=100, deadline=None)
@given(first=opening, rest=st.lists(batch_actions, max_size=12))
def test_a_batch_is_all_or_nothing(first: Action, rest: list[Action]) -> None:
    """A batch is stored whole when every fact follows; else nothing, naming the first refusal."""
    bodies: list[Body] = []
    refused_at: int | None = None
    for kind, c, r, mode, alt, minute in [first, *rest]:
        if kind == "follow":
            kind = follow(replay(bodies) if refused_at is None else None, c, r, alt)
        bodies.append(build(kind, c, r, mode, alt, minute))
        if refused_at is None and expected_rule(bodies[:-1], bodies[-1]) is not None:
            refused_at = len(bodies) - 1
    app = CareEpisodes(env=CACHED)
    outcome = attempt(app, bodies)
    if isinstance(outcome, EventRejected):
        assert outcome.index == refused_at
        assert outcome.code == expected_rule(bodies[:refused_at], bodies[refused_at])
        assert app.event_count() == 0
        return
    assert refused_at is None
    results = outcome
    assert [r.episode_version for r in results] == list(range(1, len(bodies) + 1))
    assert app.episode(EP) == (replay(bodies), len(bodies))
    assert app.event_count() == 2 * len(bodies)


def test_outcomes_are_not_all_the_same() -> None:
    """Guards the strategy: a fixed mixed sequence yields recorded, refused and replayed."""
    run = Run(CareEpisodes(env=CACHED))
    script: list[Action] = [
        ("contact_requested", "c1", "r1", "chat", False, 0),
        ("contact_completed", "c1", "r1", "chat", False, 1),  # contact_not_started
        ("contact_started", "c1", "r1", "chat", False, 2),
        ("retry", "c1", "r1", "chat", False, 0),
        ("reuse_event_id", "c1", "r1", "chat", False, 1),
        ("contact_completed", "c1", "r1", "video", False, 3),
    ]
    assert [step(run, a) for a in script] == [
        "recorded", "refused", "recorded", "replayed", "refused", "recorded",
    ]  # fmt: skip
    check_final(run)
    assert run.app.episode(EP)[0].contacts["c1"].status == "completed"
