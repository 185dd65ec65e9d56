"""Liability read model: one current decision per completed contact, and the invoice lines.

Every fact that can change who pays (domain.md §4.3) is kept per episode; the episode's facts
are folded with ``EpisodeFacts`` and each affected contact is decided again with the same pure
``decide`` the API uses. Closing a month for a region pair fixes its invoice lines (380); a
decision that changes afterwards adds a credit line (381, with Inera's reason) and, if the
contact is still billable, a new debit line: corrections, never silent edits (C2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sqlalchemy as sa

from projections.base import Projection
from projections.db import Cursor
from projections.folds import EpisodeFolds, reads
from projections.invoice_lines import ClosedMonths, InvoiceLines
from projections.page import by_episode, runs, shared_decisions
from projections.tables import table
from routing.liability.decision import LiabilityDecision
from routing.liability.facts import ContactFacts, EpisodeFacts
from routing.liability.inputs import encode, whatif_key
from routing.liability.rulebooks import RulebookPolicy
from routing.messaging.envelope import CloudEvent
from routing.reference.catalogue import Catalogue
from routing.reference.regions import Regions


def create_tables(cur: Cursor, suffix: str = "") -> None:
    """Also used by readers that may come before the first event (the API): no indexes."""
    facts, decisions = table("liability_facts", suffix), table("liability_decisions", suffix)
    cur.create(facts, decisions, indexes=False)
    add_inputs_column(cur, decisions.name)
    InvoiceLines.create(cur, suffix)


LATER = ("inputs", "whatif_key", "contact_day", "assessment_days")
"""Columns the decisions table gained after read models were first written (routing.liability
.inputs: the fast what-if reads them; projections/compare.py compares them when filled)."""


def add_inputs_column(cur: Cursor, name: str) -> None:
    """A decisions table written before the decisions kept their inputs gains the columns
    (empty: its rows are re-decided from the log until a rebuild or replay fills them; the
    what-if falls back to the log meanwhile, projections/whatif.py)."""
    have = {c["name"] for c in sa.inspect(cur.conn).get_columns(name)}
    for column in LATER:
        if column not in have:
            cur.execute(f"ALTER TABLE {name} ADD COLUMN {column} TEXT")


def has_inputs_column(cur: Cursor, name: str = "liability_decisions") -> bool:
    """Whether the table has every column the fast what-if reads."""
    have = {c["name"] for c in sa.inspect(cur.conn).get_columns(name)}
    return set(LATER) <= have


LEGACY = ("console_liability_home", "console_liability_care", "console_invoice_lines_home")
"""The same indexes as the console created them before they moved here: dropped, so a read
model indexed by an older console does not keep (and write) two copies."""


def create_indexes(cur: Cursor) -> None:
    """The live tables' covering indexes (declared in projections/tables.py). Only on live
    names: a rebuilt table renamed into place would keep a suffixed index name that the next
    rebuild collides with, so the rebuild writes without them and its swap creates them
    (projections/rebuild.py). Not for readers: a first request must not build an index over
    a national read model."""
    for name in LEGACY:
        cur.execute(f"DROP INDEX IF EXISTS {name}")
    cur.create(table("liability_decisions"), table("liability_invoice_lines"))


class Liability(Projection):
    name: ClassVar[str] = "liability"
    tables: ClassVar[tuple[str, ...]] = (
        "liability_facts",
        "liability_decisions",
        *InvoiceLines.tables,
    )
    interesting: ClassVar[frozenset[str]] = reads(EpisodeFacts) | {"month_closed"}
    """What the fold reads, and the closing of a month (a barrier the projection applies)."""

    def __init__(self, policy: RulebookPolicy, catalogue: Catalogue, regions: Regions) -> None:
        self.policy, self.catalogue, self.regions = policy, catalogue, regions
        self._folds = EpisodeFolds("liability_facts", EpisodeFacts)
        self._closed = ClosedMonths()
        self._decision_rows: dict[tuple[str, str], tuple[object, ...]] = {}
        self._decisions = shared_decisions(policy, catalogue, regions)

    def create(self, cur: Cursor, suffix: str = "") -> None:
        create_tables(cur, suffix)
        if not suffix:
            create_indexes(cur)

    def discard_cache(self) -> None:
        self._folds.clear()
        self._closed.forget()
        self._decision_rows.clear()

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        """Writes the page's facts and decisions in two pipelined statements, not one round
        trip each."""
        self._folds.write(cur, suffix)
        if self._decision_rows:
            cur.insert_rows(
                table("liability_decisions", suffix),
                list(self._decision_rows.values()),
                _ON_CONFLICT_DECISION,
            )
            self._decision_rows.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()  # the read model is being rebuilt: what we remember is void
        super().drop(cur, suffix)

    def apply_page(self, cur: Cursor, events: Sequence[CloudEvent], suffix: str = "") -> None:
        """Per run between month closings, per episode: the group folded at once and each
        changed contact decided once, from its last completed state. Invoice lines follow
        every completed state in order, as fact by fact, but only where a month of the
        contact's care region was ever closed (elsewhere ``follow`` writes nothing)."""
        for run in runs(events, "month_closed"):
            if run[0].event_type == "month_closed":
                self.apply(cur, run[0], suffix)
                continue
            for group in by_episode(run).values():
                self._apply_group(cur, group, suffix)

    def _apply_group(self, cur: Cursor, group: list[CloudEvent], suffix: str) -> None:
        states = self._folds.add_group(
            cur, suffix, group, lambda: self.flush(cur, suffix), _completed
        )
        if not states:
            return
        closed = {care for _, care, _ in self._closed.load(cur, suffix)}
        lines = InvoiceLines(cur, suffix, self._closed)
        for contact_id in sorted(states):
            history = states[contact_id]
            if history[0][0].care_region not in closed:
                history = history[-1:]  # no lines to follow: only the last decision counts
            for facts, recorded_at in history:
                decision = self._decisions.decide(facts)
                lines.follow(decision, recorded_at)
            self._decision_rows[(decision.episode_id, decision.contact_id)] = _row(decision, facts)

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        if event.event_type == "month_closed":
            self.flush(cur, suffix)  # closing reads the decisions
            d = event.data
            InvoiceLines(cur, suffix, self._closed).close_month(
                d["home_region"], d["care_region"], d["month"], event.recordedat
            )
            return
        facts, changed = self._folds.add(cur, suffix, event, lambda: self.flush(cur, suffix))
        lines = InvoiceLines(cur, suffix, self._closed)
        for contact_id in sorted(changed):
            c = facts.contacts[contact_id]
            if c.status != "completed":
                continue
            decision = self._decisions.decide(c)
            self._decision_rows[(decision.episode_id, decision.contact_id)] = _row(decision, c)
            lines.follow(decision, event.recordedat)  # issued when we learnt it


_ON_CONFLICT_DECISION = (
    "ON CONFLICT (episode_id, contact_id) DO UPDATE SET"
    " home_region = excluded.home_region, care_region = excluded.care_region,"
    " month = excluded.month, status = excluded.status, profession = excluded.profession,"
    " mode = excluded.mode, invoiced_amount = excluded.invoiced_amount,"
    " provider_reimbursement = excluded.provider_reimbursement,"
    " patient_fee = excluded.patient_fee, decision = excluded.decision,"
    " inputs = excluded.inputs, whatif_key = excluded.whatif_key,"
    " contact_day = excluded.contact_day, assessment_days = excluded.assessment_days"
)


def _completed(c: ContactFacts) -> bool:
    return c.status == "completed"


def _row(d: LiabilityDecision, facts: ContactFacts) -> tuple[object, ...]:
    month = d.contact_date.strftime("%Y-%m") if d.contact_date else ""
    return (
        d.episode_id, d.contact_id, d.home_region, d.care_region, month, d.status.value,
        d.profession, d.mode, d.invoiced_amount, d.provider_reimbursement, d.patient_fee,
        d.model_dump_json(), encode(facts), *whatif_key(facts),
    )  # fmt: skip
