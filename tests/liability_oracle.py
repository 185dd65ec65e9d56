"""What a liability decision must say, worked out from the facts and the sources by hand rules,
never by ``routing.liability.engine.decide``: the oracle of tests that check what a projection
or a replay stored.

It judges only the contacts whose outcome the sources settle without a table lookup:

- in-region contacts (R2): ``in_region``, nothing invoiced;
- advice only (R3; Inera credit reason 9): ``not_billable``, nothing invoiced;
- out-of-region digital primary care under Riksavtalet (before the Ds 2023:27 date): the home
  region pays the SKR June 2019 prices (domain.md R11; seed 004, VGR's *Hur fungerar digitala
  vårdbesök?*: "debiterar VGR 500 kr" for a doctor, 275 kr for a physiotherapist), 425 kr for
  a psychologist or counsellor; primary care needs no referral in any region.

Everything else (physical visits, specialised care, the new rulebook) it leaves unjudged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

Body = dict[str, Any]
Key = tuple[str, str]

DS_2023_27_DATE = date(2025, 10, 1)  # Ds 2023:27: proposed in force 1 October 2025
SKR_2019 = {"doctor": 500, "psychologist": 425, "psychotherapist": 425, "counsellor": 425}
SKR_2019_OTHER = 275  # övrig hälso- och sjukvårdspersonal
DISTANCE = {"video", "phone", "chat", "async_message"}


def completed_contacts(episodes: Iterable[Sequence[Body]]) -> set[Key]:
    """(episode, contact) of every contact completed or held, straight from the facts."""
    return {
        (str(e["episode_id"]), e["contact_id"])
        for events in episodes
        for e in events
        if e["type"] in ("contact_completed", "physical_visit_held")
    }


def judged(episodes: Iterable[Sequence[Body]]) -> dict[Key, tuple[str, int]]:
    """(status, invoiced amount) of each completed contact the rules above settle."""
    out: dict[Key, tuple[str, int]] = {}
    for events in episodes:
        home, requested, done = _read(events)
        for contact, e in done.items():
            verdict = _verdict(home, requested[contact], e)
            if verdict is not None:
                out[(str(e["episode_id"]), contact)] = verdict
    return out


def _read(events: Sequence[Body]) -> tuple[str, dict[str, Body], dict[str, Body]]:
    home, requested, done = "", {}, {}
    for e in events:
        if e["type"] == "contact_requested":
            home = home or e["home_region"]["county"]
            requested[e["contact_id"]] = e
        elif e["type"] == "home_region_corrected":
            home = e["home_region"]["county"]  # the final home region decides (C2)
        elif e["type"] in ("contact_completed", "physical_visit_held"):
            done[e["contact_id"]] = e
    return home, requested, done


def _verdict(home: str, request: Body, done: Body) -> tuple[str, int] | None:
    if done.get("content") == "advice_only":
        return ("not_billable", 0)
    if request["care_region"] == home:
        return ("in_region", 0)
    day = datetime.fromisoformat(done["occurred_at"]).date()
    digital = done["type"] == "contact_completed" and done["mode"] in DISTANCE
    if request["care_level"] != "primary" or not digital or day >= DS_2023_27_DATE:
        return None
    return ("home_region_liable", SKR_2019.get(done["profession"], SKR_2019_OTHER))
