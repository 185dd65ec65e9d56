"""Invoice specifications modelled on Inera's ProcessClaimSpecification (its billing schema).

Pure: lines in, documents out. Debit lines of a region pair and month form one specification
(typeOfInvoice 380); credit lines form a credit note (381) that names the specification it
corrects and each line's reasonForCredit. ``payableAmount`` is the sum of the line net amounts.

Two things the national schema carries are deliberately absent: the patient's personnummer
(the care region resolves it from its own records; this system holds pseudonyms only, C8) and
the regions' organisation numbers, which are not in the reference data: the ten digits used
here are illustrative ("232100" + län code + "00") and marked so in every document.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import orjson

from routing.episodes.vocabulary import Profession
from routing.liability.decision import LiabilityDecision

INVOICE, CREDIT_NOTE = 380, 381
KV_YRKESKOD = {
    Profession.doctor: "LK",
    Profession.nurse: "SJ",
    Profession.psychologist: "PS",
    Profession.psychotherapist: "PT",
    Profession.physiotherapist: "FT",
    Profession.assistant_nurse: "US",
    Profession.counsellor: "OV",
    Profession.other_licensed: "OV",
}
CSV_COLUMNS = (
    "specification_id", "type_of_invoice", "line_id", "routing_line_id", "episode_id", "contact_id",
    "care_visit_date", "home_county", "home_municipality", "care_region", "care_unit_hsa_id",
    "profession_code", "mode", "price_list", "amount_sek", "patient_fee_sek",
    "reason_for_credit", "credits_line", "rulebook", "status",
)  # fmt: skip


def org_no(county: str) -> str:
    """Illustrative organisation number of a region (the real ones are not in our data)."""
    return f"232100{county}00"


def specification_id(care_region: str, month: str, counter: int) -> str:
    """ZVF + 10-digit org no of the issuer + YYMM + 6-digit counter (Inera's format)."""
    return f"ZVF{org_no(care_region)}{month[2:4]}{month[5:7]}{counter:06d}"


def build(
    care_region: str, home_region: str, month: str, lines: list[dict[str, Any]], issued: date
) -> dict[str, Any]:
    debits = [x for x in lines if x["type_of_invoice"] == INVOICE]
    credits = [x for x in lines if x["type_of_invoice"] == CREDIT_NOTE]
    docs = []
    invoice_id = specification_id(care_region, month, 1)
    if debits:
        docs.append(_document(invoice_id, INVOICE, care_region, home_region, debits, issued))
    if credits:
        credit = _document(
            specification_id(care_region, month, 2), CREDIT_NOTE, care_region, home_region,
            credits, issued,
        )  # fmt: skip
        credit["referenceToProcessClaimSpecificationId"] = invoice_id
        docs.append(credit)
    return {
        "careRegion": care_region,
        "homeRegion": home_region,
        "month": month,
        "note": "organisation numbers are illustrative; patient identity is resolved by the "
        "care region from the pseudonym",
        "processClaimSpecifications": docs,
        "netAmount": sum(d["payableAmount"]["value"] for d in docs),
    }


def _document(
    spec_id: str, kind: int, care: str, home: str, lines: list[dict[str, Any]], issued: date
) -> dict[str, Any]:
    body = [_line(n, x) for n, x in enumerate(lines, start=1)]
    return {
        "id": spec_id,
        "issueDate": issued.isoformat(),
        "typeOfInvoice": kind,
        "supplierParty": {"organisationNumber": org_no(care), "county": care},
        "customerParty": {"organisationNumber": org_no(home), "county": home},
        "payableAmount": {
            "value": sum(x["invoicedAmountDetails"]["netAmount"] for x in body),
            "currency": "SEK",
        },
        "healthcareServicesSpecificationLine": body,
    }


def _line(n: int, x: dict[str, Any]) -> dict[str, Any]:
    """One specification line. A credit line's decision is the one of the line it credits
    (projections/invoice_lines.py), so it repeats that line; its amounts are negated."""
    d: LiabilityDecision = x["decision"]
    sign = -1 if x["type_of_invoice"] == CREDIT_NOTE else 1
    line: dict[str, Any] = {
        "lineId": n,
        "routingLineId": x["line_id"],
        "careContactId": f"{d.episode_id}:{d.contact_id}",
        "patientInformation": {"county": x["home_region"], "municipality": d.home_municipality},
        "typeOfAgreement": 1,
        "typeOfChapter": 4,
        "agreementInRiksavtalet": d.riksavtal_chapter or "4.1",
        "healthcareCategory": {"typeOfCare": "01"},
        "timespan": {"careVisitDate": d.contact_date.isoformat() if d.contact_date else None},
        "healthcareUnit": {
            "hsaId": d.care_unit_id,
            "professionCodeForHealthcare": _profession_code(d.profession),
        },
        "categorization": {"productCategory": "04", "priceList": d.price_list},
        "invoicedAmountDetails": {
            "netAmount": int(x["amount"]),
            "outPatientCareFee": None if d.patient_fee is None else sign * d.patient_fee,
        },
    }
    line["routing"] = {"mode": d.mode, "rulebook": d.rulebook, "status": d.status.value}
    if x["credit_reason"] is not None:
        line["reasonForCredit"] = int(x["credit_reason"])
        line["creditsLine"] = x["credits_line"]
    return line


def _profession_code(profession: str | None) -> str | None:
    return KV_YRKESKOD.get(Profession(profession)) if profession else None


def to_csv(document: dict[str, Any]) -> str:
    """One row per line; semicolon-separated with a byte-order mark, as Swedish-locale
    spreadsheets expect; amounts are whole kronor. ``line_id`` is the JSON's ``lineId`` (the
    line's number in its specification), ``routing_line_id`` its ``routingLineId``."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for spec in document["processClaimSpecifications"]:
        for line in spec["healthcareServicesSpecificationLine"]:
            episode, contact = line["careContactId"].split(":", 1)
            writer.writerow(
                [
                    spec["id"], spec["typeOfInvoice"], line["lineId"], line["routingLineId"],
                    episode, contact,
                    line["timespan"]["careVisitDate"], line["patientInformation"]["county"],
                    line["patientInformation"]["municipality"], spec["supplierParty"]["county"],
                    line["healthcareUnit"]["hsaId"],
                    line["healthcareUnit"]["professionCodeForHealthcare"],
                    line["routing"]["mode"], line["categorization"]["priceList"],
                    line["invoicedAmountDetails"]["netAmount"],
                    line["invoicedAmountDetails"]["outPatientCareFee"],
                    line.get("reasonForCredit", ""), line.get("creditsLine", ""),
                    line["routing"]["rulebook"], line["routing"]["status"],
                ]
            )  # fmt: skip
    return out.getvalue()


def json_bytes(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)
