"""Who pays, where the care guarantee's sources touch it: the regions' referral rules by
specialty (SOU 2021:59 table 6.1), self-referral to another region, planned inpatient care after
the home region's referral, and the price levels before 2019. Expected values come from the
quoted lines of SOU 2021:59, never from the engine under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from routing.episodes.events import parse_event
from routing.episodes.vocabulary import CareLevel
from routing.liability.decision import LiabilityDecision, LiabilityStatus
from routing.liability.engine import decide
from routing.liability.facts import EpisodeFacts
from routing.liability.rulebooks import RulebookPolicy
from routing.reference.catalogue import load_catalogue
from routing.reference.regions import load_regions
from tests import support as s

VISIT = datetime(2022, 3, 7, 10, 0, tzinfo=s.STOCKHOLM)  # Riksavtalet; table 6.1 in force
HOMES = {"24": "2480", "14": "1480", "09": "0980", "19": "1980"}


def _decide(bodies: list[dict[str, Any]]) -> LiabilityDecision:
    facts = EpisodeFacts(str(bodies[0]["episode_id"]))
    for b in bodies:
        facts.apply(parse_event(b))
    return decide(facts.contacts["c1"], RulebookPolicy(), load_catalogue(), load_regions())


def _visit(
    home: str, care: str, level: str = "specialised_outpatient", referral: str | None = None,
    **request: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """A physical visit in ``care`` by a patient of ``home``, with an optional referral from the
    home region to ``care`` (its target level ``referral``) issued a month before."""
    ep = str(uuid4())
    bodies = []
    if referral is not None:
        bodies.append(s.referral_issued(ep, occurred_at=VISIT - timedelta(days=30),
                                        target_region=care, target_care_level=referral,
                                        specialty=request.get("specialty")))  # fmt: skip
    return [
        s.contact_requested(ep, occurred_at=VISIT - timedelta(days=20), requested_mode="physical",
                            care_level=level, care_region=care,
                            home_region={"county": home, "municipality": HOMES[home]}, **request),
        *bodies,
        s.physical_visit_booked(ep, occurred_at=VISIT - timedelta(days=10), scheduled_for=VISIT),
        s.physical_visit_held(ep, occurred_at=VISIT),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("specialty", "referral", "status"),
    [("dermatology", None, LiabilityStatus.home_region_not_obliged),
     ("dermatology", "specialised_outpatient", LiabilityStatus.home_region_liable),
     ("orthopaedics", None, LiabilityStatus.home_region_liable)],  # no rule for it
)  # fmt: skip
def test_vasterbotten_requires_a_referral_to_a_dermatology_clinic(
    specialty: str, referral: str | None, status: LiabilityStatus
) -> None:
    """Table 6.1: "Västerbotten Barn- och ungdomspsykiatri, hudmottagning, besök på
    habiliteringscentrum"; HSL 8 kap. 3 §: the home region does not pay "om hemregionen ställer
    krav på remiss för vården och dessa remissregler inte följs"."""
    d = _decide(_visit("24", "14", referral=referral, specialty=specialty))
    assert d.status is status
    if status is LiabilityStatus.home_region_not_obliged:
        assert (d.paying_region, d.credit_reason) == ("14", 5)


def test_only_the_home_regions_rule_decides_who_pays() -> None:
    """HSL 8 kap. 3 §: "Det har i det avseendet ingen betydelse om vårdregionen ställer krav på
    remiss eller inte"; yet "En egenanmälan för vård i ett annan region kan du bara skriva om
    det inte finns krav på remiss vare sig där du vill få vård eller i din egen region": VGR
    (no rules, '-') pays for dermatology in Stockholm, which requires a referral for it."""
    d = _decide(_visit("14", "01", specialty="dermatology"))
    assert (d.status, d.paying_region) == (LiabilityStatus.home_region_liable, "14")
    (step,) = [t for t in d.trace if t.rule == "R21"]
    assert "region 01 requires a referral" in step.finding
    assert "Stockholm" in step.source


@pytest.mark.parametrize(
    ("age_band", "status"),
    [("2-17", LiabilityStatus.home_region_not_obliged),
     ("0-1", LiabilityStatus.home_region_liable)],
)  # fmt: skip
def test_gotland_requires_a_referral_for_children_over_two(
    age_band: str, status: LiabilityStatus
) -> None:
    """Table 6.1, Gotland: "Barnmedicin för barn över två års ålder"."""
    assert _decide(_visit("09", "14", specialty="paediatrics", age_band=age_band)).status is status


def test_the_table_as_reference_data() -> None:
    """Table 6.1: "Alla regioner kräver remiss för medicinsk service"; Västmanland is not in
    the table, so its rules for a specialty are unknown."""
    cat, on = load_catalogue(), date(2022, 3, 7)
    spec = CareLevel.specialised_outpatient
    assert all(cat.referral_required(r, spec, on, "medical_service").required  # type: ignore[union-attr]
               for r in ("01", "14", "19", "25"))  # fmt: skip
    assert cat.referral_required("19", spec, on, "dermatology") is None
    assert cat.referral_required("14", spec, on, "dermatology").required is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("referral", "status"),
    [("inpatient", LiabilityStatus.home_region_liable), (None, LiabilityStatus.pending)],
)
def test_planned_inpatient_care_after_the_home_regions_referral(
    referral: str | None, status: LiabilityStatus
) -> None:
    """Riksavtalet's recommendation (SOU 2021:59 §3.3.2): the patient should "erbjudas
    möjlighet att i andra landsting välja att få sin behandling i sluten vård vid sjukhus inom
    länssjukvården, efter det att behovet har fastställts i hemlandstinget"."""
    d = _decide(_visit("14", "01", level="inpatient", referral=referral))
    assert d.status is status
    if referral:
        assert (d.paying_region, d.receiving_region) == ("14", "01")
        assert "inpatient_priced_outside" in d.flags


@pytest.mark.parametrize(("year", "amount"), [(2016, 2000), (2020, 500)])
def test_a_digital_doctor_contact_before_and_after_skrs_2019_change(year: int, amount: int) -> None:
    """SOU 2021:59: "En digital läkarkontakt ersattes till en början med 2 000 kronor per besök
    i enlighet med Riksavtalet för utomlänsvård. Ersättningen för digitala vårdkontakter
    justerades av SKR år 2019 och en digital läkarkontakt ersätts nu med 500 kronor"."""
    ep, start = str(uuid4()), datetime(year, 3, 7, 10, tzinfo=s.STOCKHOLM)
    d = _decide([
        s.contact_requested(ep, occurred_at=start - timedelta(minutes=5), care_region="04"),
        s.contact_started(ep, occurred_at=start, mode="video"),
        s.contact_completed(ep, occurred_at=start + timedelta(minutes=15), mode="video"),
    ])  # fmt: skip
    assert (d.status, d.invoiced_amount) == (LiabilityStatus.home_region_liable, amount)
