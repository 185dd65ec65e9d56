"""Invoice lines of closed months, and their corrections.

A closed (home region, care region, month) gets one debit line (Inera typeOfInvoice 380) per
contact the home region is liable for. A line is never edited: when a decision changes after
its month was closed, a credit line (381) cancels it with Inera's reasonForCredit, and a new
debit line follows if the contact is still billable, to whichever region pair now owes it.

A credit line mirrors the line it credits: it keeps that line's decision (home county and
municipality, status, unit, profession, mode, price list, patient fee) and negates its
amounts; nothing of the new decision goes into it. The new decision is the new debit line's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from projections.cursor import Cursor
from projections.tables import table
from routing.kernel.calendar import swedish_date
from routing.kernel.rules import (
    CREDIT_LATE,
    CREDIT_NOT_BILLABLE,
    CREDIT_WRONG_HOME_REGION,
    CREDIT_WRONG_PRICE,
)  # fmt: skip
from routing.liability.decision import LiabilityDecision, LiabilityStatus

WRONG_HOME_REGION, WRONG_PRICE, NOT_BILLABLE, LATE = (
    CREDIT_WRONG_HOME_REGION, CREDIT_WRONG_PRICE, CREDIT_NOT_BILLABLE, CREDIT_LATE,
)  # fmt: skip
SIX_MONTHS_DAYS = 183

COLUMNS = (
    "line_id", "home_region", "care_region", "month", "issued_at", "type_of_invoice",
    "episode_id", "contact_id", "amount", "credit_reason", "credits_line", "open",
    "late", "decision",
)  # fmt: skip


class ClosedMonths:
    """The closed (home, care, month) triples, remembered between transactions: the
    projection is their only writer and they only grow, so after one read at start-up a
    contact whose care region and month were never closed needs no invoice-line lookups."""

    def __init__(self) -> None:
        self.triples: set[tuple[str, str, str]] | None = None

    def load(self, cur: Cursor, suffix: str) -> set[tuple[str, str, str]]:
        if self.triples is None:
            cur.execute(
                f"SELECT home_region, care_region, month FROM liability_closed_months{suffix}"
            )
            self.triples = {(str(h), str(c), str(m)) for h, c, m in cur.fetchall()}
        return self.triples

    def forget(self) -> None:
        self.triples = None


class InvoiceLines:
    tables: ClassVar[tuple[str, ...]] = ("liability_closed_months", "liability_invoice_lines")

    @staticmethod
    def create(cur: Cursor, suffix: str = "") -> None:
        cur.create(*(table(name, suffix) for name in InvoiceLines.tables), indexes=False)

    def __init__(self, cur: Cursor, suffix: str = "", closed: ClosedMonths | None = None) -> None:
        self.cur, self.suffix = cur, suffix
        self.closed = closed or ClosedMonths()

    def close_month(self, home: str, care: str, month: str, at: datetime) -> None:
        """Issues the month's debit lines; closing twice changes nothing."""
        s = self.suffix
        self.cur.execute(
            f"SELECT 1 FROM liability_closed_months{s} "
            "WHERE home_region = :home AND care_region = :care AND month = :month",
            {"home": home, "care": care, "month": month},
        )
        if self.cur.fetchone() is not None:
            return
        self.closed.load(self.cur, s).add((home, care, month))
        self.cur.execute(
            f"INSERT INTO liability_closed_months{s} (home_region, care_region, month, closed_at)"
            " VALUES (:home, :care, :month, :at)",
            {"home": home, "care": care, "month": month, "at": at.isoformat()},
        )
        self.cur.execute(
            f"SELECT decision FROM liability_decisions{s} WHERE home_region = :home "
            "AND care_region = :care AND month = :month AND status = :status "
            "ORDER BY episode_id, contact_id",
            {
                "home": home,
                "care": care,
                "month": month,
                "status": LiabilityStatus.home_region_liable.value,
            },
        )
        for (raw,) in self.cur.fetchall():
            d = LiabilityDecision.model_validate_json(raw)
            if self._open_line(d.episode_id, d.contact_id) is None:
                self._debit(d, at)

    def follow(self, d: LiabilityDecision, at: datetime) -> None:
        """Keeps the lines true to a (re)computed decision: credit, then debit if owed."""
        month = _month(d.contact_date)
        if not any(
            c == d.care_region and m == month for _, c, m in self.closed.load(self.cur, self.suffix)
        ):
            return  # no month of this care region and contact month was ever closed: no lines
        line = self._open_line(d.episode_id, d.contact_id)
        owed = d.status is LiabilityStatus.home_region_liable and self._closed(d)
        if line is not None:
            if owed and _billed(line) == _billed_by(d):
                return
            self._credit(line, d, at)
        if owed:
            self._debit(d, at)

    def _closed(self, d: LiabilityDecision) -> bool:
        triple = (d.home_region, d.care_region, _month(d.contact_date))
        return triple in self.closed.load(self.cur, self.suffix)

    def _open_line(self, episode: str, contact: str) -> dict[str, Any] | None:
        self.cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM liability_invoice_lines{self.suffix} "
            "WHERE episode_id = :episode AND contact_id = :contact AND open = 1",
            {"episode": episode, "contact": contact},
        )
        row = self.cur.fetchone()
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    def _debit(self, d: LiabilityDecision, at: datetime) -> None:
        late = d.contact_date is not None and (swedish_date(at) - d.contact_date).days > (
            SIX_MONTHS_DAYS
        )
        self._insert(d, d.home_region, d.care_region, 380, d.invoiced_amount, None, None, 1,
                     late, at)  # fmt: skip

    def _credit(self, line: dict[str, Any], d: LiabilityDecision, at: datetime) -> None:
        credited = LiabilityDecision.model_validate_json(line["decision"])
        if (line["home_region"], credited.home_municipality) != (
            d.home_region,
            d.home_municipality,
        ):
            reason = WRONG_HOME_REGION
        elif d.status is LiabilityStatus.home_region_liable:
            reason = WRONG_PRICE
        else:
            reason = d.credit_reason or NOT_BILLABLE
        self.cur.execute(
            f"UPDATE liability_invoice_lines{self.suffix} SET open = 0 WHERE line_id = :line",
            {"line": line["line_id"]},
        )
        self._insert(credited, line["home_region"], line["care_region"], 381,
                     -int(line["amount"]), reason, line["line_id"], 0, False, at)  # fmt: skip

    def _insert(
        self, d: LiabilityDecision, home: str, care: str, kind: int, amount: int,
        reason: int | None, credits: str | None, open_: int, late: bool, at: datetime,
    ) -> None:  # fmt: skip
        self.cur.execute(
            f"SELECT COUNT(*) FROM liability_invoice_lines{self.suffix} "
            "WHERE episode_id = :episode AND contact_id = :contact",
            {"episode": d.episode_id, "contact": d.contact_id},
        )
        seq = int(self.cur.scalar()) + 1
        self.cur.insert_rows(
            table("liability_invoice_lines", self.suffix),
            [(
                f"{d.episode_id}:{d.contact_id}:{seq}", home, care, _month(d.contact_date),
                at.isoformat(), kind, d.episode_id, d.contact_id, amount, reason, credits,
                open_, int(late), d.model_dump_json(),
            )],
        )  # fmt: skip


def _billed(line: dict[str, Any]) -> tuple[object, ...]:
    """What an open line bills: a new decision that bills the same needs no correction."""
    return _billed_by(LiabilityDecision.model_validate_json(line["decision"]))


def _billed_by(d: LiabilityDecision) -> tuple[object, ...]:
    return (
        d.home_region, d.home_municipality, d.care_region, d.invoiced_amount, d.patient_fee,
        d.care_unit_id, d.profession, d.mode, d.price_list, d.contact_date,
    )  # fmt: skip


def _month(day: date | None) -> str:
    return day.strftime("%Y-%m") if day else ""
