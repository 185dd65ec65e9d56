"""What the audit answers look like, for the API and the CLI alike (JSON via pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema, model_validator

from routing.audit.history import EpisodeView, Learnt
from routing.audit.simulation import ContactChange, Outcome, Scope, Simulation
from routing.episodes.journey import EpisodeState
from routing.episodes.service import HistoryEntry
from routing.episodes.vocabulary import COUNTY_SCHEMA, Day
from routing.liability.decision import LiabilityDecision
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.regions import load_regions


class FactOut(HistoryEntry):
    # The history record (routing.episodes.service) under its OpenAPI name, without its late
    # flag: audit's views answer "late" in their own sense (``LearntFactOut``).
    late: bool = Field(default=False, exclude=True)


class EpisodeViewOut(BaseModel):
    episode_id: UUID
    facts: list[FactOut]
    state: EpisodeState | None = Field(
        description="What the facts add up to; null if they lack the opening request."
    )
    decisions: list[LiabilityDecision] = Field(
        description="Liability of each completed contact, decided from exactly these facts."
    )


class LearntFactOut(FactOut):
    late: bool = Field(description="Had occurred by `since` but was recorded after it.")


class LearntOut(BaseModel):
    episode_id: UUID
    since: datetime
    until: datetime
    facts: list[LearntFactOut]


def view_out(episode_id: UUID, v: EpisodeView) -> EpisodeViewOut:
    return EpisodeViewOut(
        episode_id=episode_id,
        facts=[FactOut(**dict(e)) for e in v.facts],
        state=v.state,
        decisions=v.decisions,
    )


def learnt_out(
    episode_id: UUID, learnt: list[Learnt], since: datetime | None = None,
    until: datetime | None = None,
) -> LearntOut:  # fmt: skip
    facts = [LearntFactOut(**{**dict(x.entry), "late": x.late}) for x in learnt]
    return LearntOut(
        episode_id=episode_id,
        since=since or (facts[0].recorded_at if facts else datetime.min),
        until=until or (facts[-1].recorded_at if facts else datetime.min),
        facts=facts,
    )


class SimulationIn(BaseModel):
    """The alternative policy and the contacts it is applied to."""

    model_config = ConfigDict(extra="forbid")

    home_regions: list[Annotated[str, WithJsonSchema(COUNTY_SCHEMA)]] = Field(
        default_factory=list, description="County codes (e.g. '14'); empty = every region."
    )
    start: Day = Field(description="First contact date (Swedish time).")
    end: Day = Field(
        description="Last contact date (Swedish time), inclusive. Before `start` the period "
        "is empty: no contact is in scope and the answer lists no region and no change."
    )
    ds_2023_27_enabled: StrictBool = Field(True, description="Whether the alternative applies it.")
    ds_2023_27_effective: Day | None = Field(
        None, description="The alternative's effective date (default: the one in force)."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        known = {r.county for r in load_regions().regions}
        unknown = sorted(set(self.home_regions) - known)
        if unknown:
            raise ValueError(f"unknown home region(s) {', '.join(unknown)}")
        return self

    def scope(self) -> Scope:
        return Scope(frozenset(self.home_regions), self.start, self.end)

    def alternative(self, baseline: RulebookPolicy) -> RulebookPolicy:
        return RulebookPolicy(
            self.ds_2023_27_enabled, self.ds_2023_27_effective or baseline.ds_2023_27_effective
        )


class OutcomeOut(BaseModel):
    status: str
    rulebook: str
    amount: int
    paying_region: str | None


class ChangeOut(BaseModel):
    episode_id: str
    contact_id: str
    home_region: str
    care_region: str
    contact_date: date | None
    before: OutcomeOut
    after: OutcomeOut


class RegionOut(BaseModel):
    home_region: str
    contacts: int
    paid: int = Field(description="SEK paid under the policy in force.")
    would_pay: int = Field(description="SEK under the alternative policy.")
    difference: int
    changed: int


class SimulationOut(BaseModel):
    baseline: str
    alternative: str
    start: date
    end: date
    home_regions: list[str]
    facts: int
    regions: list[RegionOut]
    changed_total: int
    changes: list[ChangeOut] = Field(description="The first `limit` changed contacts.")
    path: str = Field(
        "log",
        description="How it was answered: `read model` (the liability decisions' inputs "
        "re-decided, seconds) or `log` (every fact replayed).",
    )
    path_reason: str = Field("", description="Why that path (a fallback's cause).")


def _outcome(o: Outcome) -> OutcomeOut:
    return OutcomeOut(
        status=o.status.value, rulebook=o.rulebook, amount=o.amount, paying_region=o.paying_region
    )


def _change(c: ContactChange) -> ChangeOut:
    return ChangeOut(
        episode_id=c.episode_id, contact_id=c.contact_id, home_region=c.home_region,
        care_region=c.care_region, contact_date=c.contact_date, before=_outcome(c.before),
        after=_outcome(c.after),
    )  # fmt: skip


def simulation_out(
    sim: Simulation, limit: int, path: str = "log", reason: str = ""
) -> SimulationOut:
    return SimulationOut(
        path=path,
        path_reason=reason,
        baseline=sim.baseline,
        alternative=sim.alternative,
        start=sim.scope.start,
        end=sim.scope.end,
        home_regions=sorted(sim.scope.home_regions),
        facts=sim.facts,
        regions=[
            RegionOut(
                home_region=r.home_region,
                contacts=r.contacts,
                paid=r.paid,
                would_pay=r.would_pay,
                difference=r.difference,
                changed=r.changed,
            )
            for r in sim.regions.values()
        ],
        changed_total=len(sim.changes),
        changes=[_change(c) for c in sim.changes[:limit]],
    )
