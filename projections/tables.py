"""Every read-model table, declared once (SQLAlchemy ``MetaData``), with its covering indexes.

Names and types are the ones the hand-written ``CREATE TABLE`` statements used, so databases
written before keep working. ``table(name, suffix, schema)`` gives the same declaration under
a suffixed name (a rebuild's ``__rebuild`` copy) or in another schema (a replay's part): those
copies carry no indexes, because a rebuilt table renamed into place would keep a suffixed
index name that the next rebuild collides with; the swap creates the live indexes
(projections/rebuild.py). ``DURABLE`` are the tables not rebuilt from the log: Alembic owns
their shape (projections/migrations/); the rest are created from here, ``IF NOT EXISTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text

Columns = Callable[[], list[Column[object]]]


def _t(name: str, nullable: bool = False, key: bool = False) -> Column[object]:
    return Column(name, Text, nullable=nullable, primary_key=key)


def _big(name: str, nullable: bool = False, key: bool = False) -> Column[object]:
    return Column(name, BigInteger, nullable=nullable, primary_key=key)


def _int(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, Integer, nullable=nullable)


def _facts(recorded: bool = True) -> list[Column[object]]:
    at = [_t("recorded_at")] if recorded else []
    return [_t("episode_id", key=True), _big("position", key=True), *at, _t("fact")]


COLUMNS: dict[str, Columns] = {
    "episode_summary": lambda: [
        _t("home_region", key=True), _t("care_region", key=True), _t("mode", key=True),
        _t("month", key=True), _big("contacts"),
    ],
    "episode_summary_episodes": lambda: [_t("episode_id", key=True), _t("home_region")],
    "episode_summary_contacts": lambda: [
        _t("episode_id", key=True), _t("contact_id", key=True), _t("care_region"),
        _t("mode", True), _t("month", True),
    ],
    "liability_facts": _facts,
    "liability_decisions": lambda: [
        _t("episode_id", key=True), _t("contact_id", key=True), _t("home_region"),
        _t("care_region"), _t("month"), _t("status"), _t("profession", True), _t("mode", True),
        _big("invoiced_amount"), _big("provider_reimbursement", True),
        _big("patient_fee", True), _t("decision"),
        # the decision's inputs (routing.liability.inputs): the fast what-if re-decides them
        _t("inputs", True),
        # what the what-if classes it by, and its days (routing.liability.inputs)
        _t("whatif_key", True), _t("contact_day", True), _t("assessment_days", True),
    ],
    "liability_closed_months": lambda: [
        _t("home_region", key=True), _t("care_region", key=True), _t("month", key=True),
        _t("closed_at"),
    ],
    "liability_invoice_lines": lambda: [
        _t("line_id", key=True), _t("home_region"), _t("care_region"), _t("month"),
        _t("issued_at"), _int("type_of_invoice"), _t("episode_id"), _t("contact_id"),
        _big("amount"), _int("credit_reason", True), _t("credits_line", True), _int("open"),
        _int("late"), _t("decision"),
    ],
    "necessity_facts": _facts,
    "necessity_visits": lambda: [
        _t("episode_id", key=True), _t("contact_id", key=True), _t("care_region"),
        _t("care_unit_id"), _t("month"), _t("classification"), _int("breach"),
        _t("visit_at"), _t("detail"),  # visit_at: UTC ISO
    ],
    "care_guarantee_facts": lambda: _facts(recorded=False),
    "care_guarantee_clocks": lambda: [
        _t("episode_id", key=True), _t("clock", key=True), _t("subject_id", key=True),
        _t("home_region"), _t("month"), _t("start_at"), _t("deadline"), _t("status"),
        _t("end_at", True), _int("days", True), _t("reason", True), _t("basis"),
        _t("start_day"), _int("limit_days"), _int("paused_days"), _t("specialty", True),
        _t("age_band", True), _t("booked_on", True), _t("booked_for", True),
        _t("warn_from", True), _t("answer_due", True), _t("answered_on", True),
        _int("target_days", True), _t("exclusions"), _t("trace"),
    ],
    "indicator_facts": _facts,
    "indicator_contacts": lambda: [
        _t("episode_id", key=True), _t("contact_id", key=True), _t("home_region"),
        _t("home_municipality"), _t("care_region"), _t("provider_id"), _t("ownership"),
        _int("in_region"), _t("care_level"), _t("requested_mode"), _t("request_path"),
        _t("request_day"), _t("status"), _t("day", True), _t("mode", True),
        _t("profession", True), _t("entry_path", True), _t("liability", True),
        _big("cost"), _t("assessment", True), _t("assessment_deadline", True),
        _t("assessment_reason", True),
    ],
    # Where a replay got to (rebuilt with its scratch tables), and a finished part's mark.
    "replay_positions": lambda: [_t("projection", key=True), _big("store_position")],
    "replay_part_done": lambda: [Column("store_position", BigInteger)],
}  # fmt: skip

INDEXES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    # Covering a region-month's groupings from either side, so the finance reads (the API's
    # /finance routes, the console's liability page) read index entries, never the rows'
    # decision JSON: without them each figure is a full scan (docs/console.md).
    "liability_decisions": (
        ("liability_decisions_home_month", ("home_region", "month", "care_region",
         "profession", "mode", "status", "invoiced_amount", "provider_reimbursement",
         "patient_fee")),
        ("liability_decisions_care_month", ("care_region", "month", "home_region",
         "profession", "mode", "status", "invoiced_amount")),
        # The what-if's grouping and its changed classes' members (projections/whatif.py)
        # from the index, not the rows and their decision JSON: 0.30 s instead of 0.55 at a
        # million facts, and no read of a changed member's row (a random read each).
        # SQLite only (``SQLITE_ONLY``).
        ("liability_decisions_whatif", ("whatif_key", "contact_day", "assessment_days",
         "home_region", "episode_id", "contact_id")),
        # Whether any row lacks what the what-if reads: empty once filled, so a seek where a
        # scan of every decision took 0.2 s a million facts (``PARTIAL``).
        ("liability_decisions_unkeyed", ("episode_id",)),
    ),
    "liability_invoice_lines": (("liability_invoice_lines_home_month", ("home_region", "month")),),
    # A care region's month of visits (counts, breaches, the 12-month chart) from the index.
    "necessity_visits": (
        ("necessity_visits_region_month", ("care_region", "month", "care_unit_id",
         "classification", "breach")),
    ),
    "care_guarantee_clocks": (
        ("care_guarantee_clocks_region", ("home_region", "month", "clock")),
        ("care_guarantee_clocks_day", ("home_region", "start_day")),
        # A region's months of summary (and the at-risk filter): the console's 12-month
        # chart read each month's clocks' rows, traces and all (1.9 s at 1 M events).
        ("care_guarantee_clocks_summary", ("home_region", "start_day", "clock", "status",
         "reason", "deadline", "booked_on", "booked_for", "warn_from", "target_days", "days",
         "answer_due", "answered_on", "limit_days")),
        # A region's open clocks (at risk, overdue) without its closed ones.
        ("care_guarantee_clocks_open", ("home_region", "status", "deadline")),
    ),
    "indicator_contacts": (
        ("indicator_contacts_day", ("day",)),
        ("indicator_contacts_request_day", ("request_day",)),
        # Covering the two tallies of a period, so a month's national figures read index
        # entries, not the contacts' rows (the console's liability page).
        ("indicator_contacts_day_tally", ("day", "status", "home_region", "home_municipality",
         "entry_path", "in_region", "care_level", "mode", "profession", "liability", "cost")),
        ("indicator_contacts_request_tally", ("request_day", "assessment", "home_region",
         "home_municipality", "request_path", "requested_mode", "assessment_deadline")),
    ),
}  # fmt: skip

METADATA = MetaData()
"""The live tables (with their indexes) and the durable ones."""

access_trail = Table(
    "access_trail",
    METADATA,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),  # SQLite: INTEGER, the rowid's alias
        primary_key=True,
        autoincrement=True,
    ),
    _t("at"), _t("subject"), _t("roles"), _t("region", True), _t("kind"), _t("method"),
    _t("path"), _t("query"), Column("status", Integer),
    sqlite_autoincrement=True,
)  # fmt: skip
projection_tracking = Table(
    "projection_tracking", METADATA, _t("application_name", key=True), _big("notification_id"),
)  # fmt: skip
"""The read models' Kafka positions, in the shape of the library's tracking table (one row a
name, ``routing.persistence.positions``; written by ``projections.tracking``)."""
projection_epochs = Table(
    "projection_epochs", METADATA, _t("projection", key=True), _int("epoch"),
    Column("generation", Integer, nullable=False, server_default="1"),
)  # fmt: skip
projection_store_positions = Table(
    "projection_store_positions", METADATA,
    _t("projection", key=True), _t("topic", key=True), Column("part", Integer, primary_key=True),
    _big("store_position"),
)  # fmt: skip

DURABLE = (access_trail, projection_tracking, projection_epochs, projection_store_positions)
"""Not rebuilt from the log: their shape changes only through a migration."""


SQLITE_ONLY = frozenset({"liability_decisions_whatif"})
"""Indexes SQLite gets and PostgreSQL does not. PostgreSQL groups the what-if by hashing, in
the server, without an index (2.1 s wall at a million facts), and a btree entry must stay
under about 2.7 kB: a what-if key grows with the contact's assessments and referrals, and a
key over that would refuse the decision's write."""

PARTIAL = {"liability_decisions_unkeyed": "inputs IS NULL OR whatif_key IS NULL"}
"""Partial indexes: only the rows this condition holds for (both stores). A query that asks
the very condition reads the index (projections/whatif.py ``fallback_reason``)."""


@cache
def _metadata(suffix: str, schema: str | None) -> MetaData:
    return METADATA if not suffix and schema is None else MetaData(schema=schema)


@cache
def table(name: str, suffix: str = "", schema: str | None = None) -> Table:
    """The declared table ``name`` as ``{name}{suffix}`` (in ``schema``: a replay's part)."""
    md = _metadata(suffix, schema)
    full = f"{name}{suffix}"
    if full in md.tables:
        return md.tables[full]
    declared = Table(full, md, *COLUMNS[name]())
    if md is METADATA:
        for index, columns in INDEXES.get(name, ()):
            info = {"dialects": ("sqlite",)} if index in SQLITE_ONLY else {}
            where = PARTIAL.get(index)
            options: dict[str, Any] = {
                f"{dialect}_where": sa.text(where) for dialect in ("sqlite", "postgresql") if where
            }
            sa.Index(index, *(declared.c[c] for c in columns), info=info, **options)
    return declared


def columns(name: str) -> tuple[str, ...]:
    """The declared column names of ``name``, in table order."""
    return tuple(c.name for c in table(name).columns)
