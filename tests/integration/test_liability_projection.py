"""The liability read model on a real store and read-model database (SQLite and PostgreSQL):
one current decision per contact, recomputed on late facts; corrections after a month closes;
the finance API and its exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from routing.config import Settings
from routing.episodes.service import EventRejected
from tests import support as s
from tests.auth_support import all_roles
from tests.liability_support import LiabilityHarness
from tests.unit.test_liability_engine import AFTER, BEFORE, _assessed, _digital


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiabilityHarness]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    h = LiabilityHarness(settings, tmp_path)
    yield h
    h.close_all()


def _decisions(h: LiabilityHarness) -> list[tuple[Any, ...]]:
    return h.query(
        "SELECT episode_id, contact_id, status, invoiced_amount, home_region, month "
        "FROM liability_decisions ORDER BY episode_id"
    )


def _lines(h: LiabilityHarness) -> list[tuple[Any, ...]]:
    return h.query(
        "SELECT type_of_invoice, amount, credit_reason, home_region, open "
        "FROM liability_invoice_lines ORDER BY issued_at, line_id"
    )


def test_seed_004_flows_become_decisions(harness: LiabilityHarness) -> None:
    harness.record(_digital(BEFORE, "doctor") + _digital(BEFORE, "physiotherapist"))
    rows = _decisions(harness)
    assert sorted(r[3] for r in rows) == [275, 500]
    assert {r[2] for r in rows} == {"home_region_liable"}


def test_late_assessment_changes_the_decision(harness: LiabilityHarness) -> None:
    bodies = _digital(AFTER)
    harness.record(bodies)
    assert _decisions(harness)[0][2] == "home_region_not_obliged"
    late = s.need_and_suitability_assessed(
        bodies[0]["episode_id"], **_assessed(AFTER - timedelta(minutes=5))
    )
    harness.record([late])
    (row,) = _decisions(harness)  # still exactly one decision for the contact
    assert row[2:4] == ("home_region_liable", 500)


def test_closed_month_gets_lines_and_later_changes_are_credited(
    harness: LiabilityHarness,
) -> None:
    bodies = _digital(BEFORE)
    harness.record(bodies)
    month = BEFORE.strftime("%Y-%m")
    harness.close("14", "04", month)
    assert _lines(harness) == [(380, 500, None, "14", 1)]

    with pytest.raises(EventRejected, match="already closed"):
        harness.close("14", "04", month)
    corrected = s.home_region_corrected(
        bodies[0]["episode_id"], home_region={"county": "03", "municipality": "0380"}
    )
    harness.record([corrected])
    assert _lines(harness) == [(380, 500, None, "14", 0), (381, -500, 1, "14", 0)]

    harness.close("03", "04", month)  # the new home region's month: the contact is owed there
    assert _lines(harness)[-1] == (380, 500, None, "03", 1)


def test_referral_rejected_after_closing_is_credited_with_reason_5(
    harness: LiabilityHarness,
) -> None:
    # Västerbotten (24) requires a referral to a dermatology clinic (SOU 2021:59 table 6.1:
    # "Västerbotten Barn- och ungdomspsykiatri, hudmottagning, besök på habiliteringscentrum").
    eid = uuid4()
    visit = AFTER - timedelta(days=3)
    harness.record(
        [
            s.contact_requested(
                eid, occurred_at=visit - timedelta(days=20), requested_mode="physical",
                care_level="specialised_outpatient", care_region="04", specialty="dermatology",
                home_region={"county": "24", "municipality": "2480"},
            ),
            s.referral_issued(
                eid, occurred_at=visit - timedelta(days=30), target_region="04",
                target_care_level="specialised_outpatient",
            ),
            s.physical_visit_booked(eid, occurred_at=visit - timedelta(days=10),
                                    scheduled_for=visit),
            s.physical_visit_held(eid, occurred_at=visit),
        ]
    )  # fmt: skip
    (decision,) = _decisions(harness)
    assert decision[2] == "home_region_liable"
    harness.close("24", "04", visit.strftime("%Y-%m"))
    assert _lines(harness)[0][0] == 380
    harness.record([s.referral_rejected(eid, occurred_at=AFTER)])
    assert _decisions(harness)[0][2] == "home_region_not_obliged"
    assert _lines(harness)[-1][:3] == (381, -int(decision[3]), 5)


def test_month_totals_equal_lines_plus_corrections(harness: LiabilityHarness) -> None:
    first, second = _digital(BEFORE), _digital(BEFORE, "psychologist")
    harness.record(first + second)
    month = BEFORE.strftime("%Y-%m")
    harness.close("14", "04", month)
    harness.record(
        [s.home_region_corrected(first[0]["episode_id"],
                                 home_region={"county": "03", "municipality": "0380"})]
    )  # fmt: skip
    (net,) = harness.query(
        "SELECT SUM(amount) FROM liability_invoice_lines WHERE home_region = '14'"
    )[0:1]
    (owed,) = harness.query(
        "SELECT SUM(invoiced_amount) FROM liability_decisions "
        "WHERE home_region = '14' AND status = 'home_region_liable'"
    )
    assert net[0] == owed[0] == 425


def test_finance_api_totals_contacts_explanation_and_exports(
    harness: LiabilityHarness,
) -> None:
    doctor, physio = _digital(BEFORE, "doctor"), _digital(BEFORE, "physiotherapist")
    harness.record(doctor + physio)
    month = BEFORE.strftime("%Y-%m")
    app = create_app(harness.settings, service=harness.service, read_models=harness.db)
    with TestClient(app, headers=all_roles()) as client:
        totals = client.get("/finance/liability", params={"home_region": "14", "month": month})
        assert totals.status_code == 200
        body = totals.json()
        assert (body["contacts"], body["invoiced_amount"]) == (2, 775)
        assert {r["care_region"]: r["invoiced_amount"] for r in body["by_care_region"]} == {
            "04": 775
        }
        contacts = client.get(
            "/finance/liability/contacts",
            params={"home_region": "14", "month": month, "profession": "physiotherapist"},
        ).json()
        assert [c["invoiced_amount"] for c in contacts] == [275]
        assert contacts[0]["trace"]

        eid = doctor[0]["episode_id"]
        explained = client.get(f"/finance/contacts/{eid}/c1").json()
        assert explained["decision"]["provider_reimbursement"] == 460
        assert client.get(f"/finance/contacts/{eid}/nope").status_code == 404

        not_closed = client.get(
            "/finance/invoices", params={"care_region": "04", "home_region": "14", "month": month}
        )
        assert not_closed.status_code == 409
        close = {"event_id": "3f0c6a52-1d2e-4b7a-9a11-0c7d2f7e9b01", "home_region": "14",
                 "care_region": "04", "month": month, "occurred_at": "2022-04-01T08:00:00+02:00",
                 "source": "vgr-finance"}  # fmt: skip
        assert client.post("/finance/months/close", json=close).status_code == 201
        again = client.post("/finance/months/close", json=close)
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
        other = {**close, "event_id": "9a1f0c6a-1d2e-4b7a-9a11-0c7d2f7e9b02"}
        conflict = client.post("/finance/months/close", json=other)
        assert (conflict.status_code, conflict.json()["code"]) == (409, "month_already_closed")
        bad = client.post("/finance/months/close", json={**close, "month": "2022-13"})
        assert (bad.status_code, bad.json()["field"]) == (422, "month")
        harness.pump()

        params = {"care_region": "04", "home_region": "14", "month": month}
        spec = client.get("/finance/invoices", params=params).json()
        (doc,) = spec["processClaimSpecifications"]
        assert doc["typeOfInvoice"] == 380
        assert (
            doc["payableAmount"]["value"]
            == 775
            == sum(
                x["invoicedAmountDetails"]["netAmount"]
                for x in doc["healthcareServicesSpecificationLine"]
            )
        )
        assert re.fullmatch(r"ZVF\d{10}\d{4}\d{6}", doc["id"])
        exported = client.get("/finance/invoices", params={**params, "format": "csv"})
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
        assert sorted(int(r["amount_sek"]) for r in rows) == [275, 500]
        assert {r["profession_code"] for r in rows} == {"LK", "FT"}
        # the same line ids, of the same kind, in both formats (issue 21)
        lines = doc["healthcareServicesSpecificationLine"]
        assert [int(r["line_id"]) for r in rows] == [x["lineId"] for x in lines] == [1, 2]
        assert [r["routing_line_id"] for r in rows] == [x["routingLineId"] for x in lines]


def _spec_lines(client: TestClient, home: str, month: str) -> dict[int, list[dict[str, Any]]]:
    params = {"care_region": "04", "home_region": home, "month": month}
    r = client.get("/finance/invoices", params=params)
    assert r.status_code == 200, r.text
    return {
        d["typeOfInvoice"]: d["healthcareServicesSpecificationLine"]
        for d in r.json()["processClaimSpecifications"]
    }


def test_a_credit_note_mirrors_the_line_it_credits(harness: LiabilityHarness) -> None:
    """Issue 16 item 13: home region corrected 14 -> 12 after the month closed. The credit
    line repeats the credited line exactly (county 14, municipality 1480, status, unit,
    profession, mode) with every amount negated; the liability of the new home region is a
    new line of its own (county 12, municipality 1280) once region 12 closes the month."""
    bodies = _digital(AFTER, assessment=_assessed(AFTER - timedelta(minutes=5)))
    harness.record(bodies)
    month = AFTER.strftime("%Y-%m")
    harness.close("14", "04", month)
    app = create_app(harness.settings, service=harness.service, read_models=harness.db)
    with TestClient(app, headers=all_roles()) as client:
        (debit,) = _spec_lines(client, "14", month)[380]
        assert debit["patientInformation"] == {"county": "14", "municipality": "1480"}
        corrected = s.home_region_corrected(
            bodies[0]["episode_id"], home_region={"county": "12", "municipality": "1280"}
        )
        harness.record([corrected])
        lines = _spec_lines(client, "14", month)
        (credit,) = lines[381]
        assert credit["reasonForCredit"] == 1  # Inera: wrong home region
        assert credit["creditsLine"] == debit["routingLineId"]
        mirrored = ("lineId", "routingLineId", "reasonForCredit", "creditsLine")
        same = {k: v for k, v in credit.items() if k not in (*mirrored, "invoicedAmountDetails")}
        assert same == {
            k: v for k, v in debit.items() if k not in (*mirrored, "invoicedAmountDetails")
        }
        assert credit["invoicedAmountDetails"] == {
            k: -v for k, v in debit["invoicedAmountDetails"].items()
        }
        harness.close("12", "04", month)
        (new,) = _spec_lines(client, "12", month)[380]
        assert new["patientInformation"] == {"county": "12", "municipality": "1280"}
        assert new["careContactId"] == debit["careContactId"]
        csv_text = client.get(
            "/finance/invoices",
            params={"care_region": "04", "home_region": "14", "month": month, "format": "csv"},
        ).text
    rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")), delimiter=";"))
    debit_row, credit_row = sorted(rows, key=lambda r: r["type_of_invoice"])
    for column in ("home_county", "home_municipality", "care_unit_hsa_id", "profession_code",
                   "mode", "price_list", "status", "care_visit_date"):  # fmt: skip
        assert credit_row[column] == debit_row[column], column
    assert int(credit_row["amount_sek"]) == -int(debit_row["amount_sek"])
    assert int(credit_row["patient_fee_sek"]) == -int(debit_row["patient_fee_sek"])


def test_a_municipality_corrected_within_the_county_is_credited_and_rebilled(
    harness: LiabilityHarness,
) -> None:
    """Same county, another municipality: the open line names the wrong municipality, so it
    is credited (reason 1) and billed again, though the amount is the same."""
    bodies = _digital(BEFORE)
    harness.record(bodies)
    month = BEFORE.strftime("%Y-%m")
    harness.close("14", "04", month)
    harness.record(
        [s.home_region_corrected(bodies[0]["episode_id"],
                                 home_region={"county": "14", "municipality": "1401"})]
    )  # fmt: skip
    assert _lines(harness) == [
        (380, 500, None, "14", 0),
        (381, -500, 1, "14", 0),
        (380, 500, None, "14", 1),
    ]
