"""Indicators read model: one row per contact with what the follow-up indicators count
(docs/indicators.md), and the queries that tally them for an area and period.

Each contact's row holds its home region and municipality (after any correction), its
provider's ownership and entry path (providers.json), its liability decision's status and
invoiced amount (the same pure ``decide`` the liability projection uses) and the fate of the
three-day assessment clock its request started (``routing.indicators.three_day_assessments``).
A late fact can change any of them, so an episode's facts are kept and folded by the shared
fold (projections/folds.py, ``IndicatorFacts``: the liability fold and the clocks' facts) and
all its rows are replaced once per page that touched it, the clocks taken from the page's
shared memo (``shared_clocks``: the care-guarantee projection computes the same ones).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa

from projections.base import Projection
from projections.db import Cursor, write_rows
from projections.folds import ClockFacts, EpisodeFolds, reads
from projections.page import shared_clocks, shared_decisions
from projections.tables import table
from routing.config import Settings
from routing.episodes import events as ev
from routing.episodes.events import EVENT_TYPES
from routing.indicators import (
    EntryPath,
    Tallies,
    assessments_of,
    entry_path,
    profession_group,
)
from routing.kernel.calendar import swedish_date
from routing.liability.decision import LiabilityStatus
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.messaging.envelope import CloudEvent
from routing.reference.catalogue import Catalogue, load_catalogue
from routing.reference.providers import Providers, load_providers
from routing.reference.regions import Regions, load_regions

COLUMNS = (
    "episode_id", "contact_id", "home_region", "home_municipality", "care_region",
    "provider_id", "ownership", "in_region", "care_level", "requested_mode", "request_path",
    "request_day", "status", "day", "mode", "profession", "entry_path", "liability", "cost",
    "assessment", "assessment_deadline", "assessment_reason",
)  # fmt: skip
TYPES = tuple(
    "integer" if c == "in_region" else "bigint" if c == "cost" else "text" for c in COLUMNS
)


class IndicatorFacts:
    """One episode as its indicator rows need it: the liability fold (each contact's facts
    and decision inputs), when each contact was requested, and the clocks' facts."""

    READS: ClassVar[frozenset[str]] = reads(EpisodeFacts, ClockFacts)

    def __init__(self, episode: str) -> None:
        self.liability = EpisodeFacts(episode)
        self.clocks = ClockFacts(episode)
        self.requested: dict[str, datetime] = {}

    def apply(self, e: ev.EpisodeEvent, recorded_at: datetime | None = None) -> set[str]:
        if isinstance(e, ev.ContactRequested):
            self.requested[e.contact_id] = e.occurred_at
        self.clocks.apply(e, recorded_at)
        return self.liability.apply(e, recorded_at)


KEPT_UNREAD = frozenset(EVENT_TYPES) - IndicatorFacts.READS
"""Episode facts no indicator reads (the offers' answers), kept anyway: ``indicator_facts``
has held every episode fact since it was made, and a live read model built so must stay
equal to a replay (``routing verify``); once every live one is rebuilt, this can go."""


def create_tables(cur: Cursor, suffix: str = "") -> None:
    """The live table's indexes come with it (projections/tables.py), as the care-guarantee
    read model's do: a rebuilt table renamed into place would keep a suffixed index name."""
    cur.create(table("indicator_facts", suffix), table("indicator_contacts", suffix))


class Indicators(Projection):
    name: ClassVar[str] = "indicators"
    tables: ClassVar[tuple[str, ...]] = ("indicator_facts", "indicator_contacts")
    interesting: ClassVar[frozenset[str]] = reads(IndicatorFacts) | KEPT_UNREAD

    def __init__(
        self, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions, providers: Providers
    ) -> None:
        self.policy, self.catalogue, self.regions = policy, catalogue, regions
        self.providers = providers
        self._decisions = shared_decisions(policy, catalogue, regions)
        self._clocks = shared_clocks()
        self._folds = EpisodeFolds("indicator_facts", IndicatorFacts, track=True)

    def create(self, cur: Cursor, suffix: str = "") -> None:
        create_tables(cur, suffix)

    def discard_cache(self) -> None:
        self._folds.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()
        super().drop(cur, suffix)

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        self._folds.add(cur, suffix, event, lambda: self.flush(cur, suffix))

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes the page's facts, then replaces the rows of every episode it touched."""
        self._folds.write(cur, suffix)
        changed = self._folds.take_touched()
        if changed:
            episodes = sorted(changed)
            for i in range(0, len(episodes), 500):
                chunk = episodes[i : i + 500]
                contacts = table("indicator_contacts", suffix)
                cur.execute(sa.delete(contacts).where(contacts.c.episode_id.in_(chunk)))
            rows = [r for e in episodes for r in self.rows_of(e, changed[e])]
            write_rows(
                cur, f"INSERT INTO indicator_contacts{suffix} ({', '.join(COLUMNS)})", rows,
                types=TYPES,
            )  # fmt: skip

    def rows_of(self, episode: str, facts: IndicatorFacts) -> list[tuple[object, ...]]:
        """One row per contact of the episode, from its fold."""
        clocks = assessments_of(self._clocks.of(facts.clocks.facts, None))
        rows: list[tuple[object, ...]] = []
        for c in facts.liability.contacts.values():
            asked = swedish_date(facts.requested[c.contact_id])
            known = self.providers.provider(c.provider_id, asked)
            ownership = known.ownership if known else None
            day = mode = profession = path = liability = None
            cost = 0
            if c.status == "completed" and c.mode is not None:
                d = self._decisions.decide(c)
                day = d.contact_date.isoformat() if d.contact_date else None
                mode, profession, liability = c.mode.value, d.profession, d.status.value
                path = entry_path(ownership, c.mode).value
                if d.status is LiabilityStatus.home_region_liable:
                    cost = d.invoiced_amount
            clock = clocks.get(c.contact_id)
            rows.append((
                episode, c.contact_id, c.home_county, c.home_municipality, c.care_region,
                c.provider_id, ownership.value if ownership else "unknown",
                int(c.home_county == c.care_region), c.care_level.value, c.requested_mode.value,
                entry_path(ownership, c.requested_mode).value, asked.isoformat(), c.status,
                day, mode, profession, path, liability, cost,
                clock.status if clock else None,
                clock.deadline.isoformat() if clock else None, clock.reason if clock else None,
            ))  # fmt: skip
        return rows


def build(settings: Settings) -> Indicators:
    """The projection with the shipped reference data (``PROJECTIONS``' factory)."""
    return Indicators(
        settings.rulebook_policy(), load_catalogue(), load_regions(), load_providers()
    )


# --- reading -------------------------------------------------------------------------------


def tallies(
    cur: Cursor, start: date, end: date, as_of: date, by: str = "home_region",
    area: str | None = None,
) -> dict[str, Tallies]:  # fmt: skip
    """Tallies per home region (``by='home_region'``) or municipality, for contacts whose
    Swedish date (clocks: request date) lies in ``start..end`` inclusive; ``area`` keeps one."""
    assert by in ("home_region", "home_municipality")
    span = (start.isoformat(), end.isoformat())
    where = "" if area is None else f" AND {by} = :area"
    params = {"start": span[0], "end": span[1], "area": area, "as_of": as_of.isoformat()}
    out: dict[str, Tallies] = {}
    cur.execute(
        f"SELECT {by}, entry_path, in_region, care_level, mode, profession, liability,"
        " COUNT(*), SUM(cost) FROM indicator_contacts"
        f" WHERE status = 'completed' AND day >= :start AND day <= :end{where}"
        f" GROUP BY {by}, entry_path, in_region, care_level, mode, profession, liability",
        params,
    )
    for key, path, in_region, level, mode, profession, _, n, cost in cur.fetchall():
        t = out.setdefault(key, Tallies())
        n = int(n)
        t.contacts[(path or EntryPath.unknown.value, bool(in_region), level)] += n
        if mode != "physical" and not in_region:
            t.ood_contacts += n
            t.ood_cost += int(cost or 0)
            t.ood_professions[profession_group(profession)] += n
            t.ood_modes[mode] += n
    cur.execute(
        f"SELECT {by}, request_path, requested_mode, assessment,"
        " CASE WHEN assessment = 'open' AND assessment_deadline < :as_of THEN 1 ELSE 0 END,"
        " COUNT(*) FROM indicator_contacts WHERE assessment IS NOT NULL"
        f" AND request_day >= :start AND request_day <= :end{where}"
        f" GROUP BY {by}, request_path, requested_mode, assessment, 5",
        params,
    )
    for key, path, requested_mode, status, late, n in cur.fetchall():
        outcome = status if status != "open" else ("overdue" if int(late) else "pending")
        t = out.setdefault(key, Tallies())
        t.assessments[(path, requested_mode != "physical", outcome)] += int(n)
    return out
