"""Episode summary: completed contacts per home region, care region, mode and month.

A contact counts once, when it is completed (distance) or held (physical), in the month of
that moment in Swedish time and under the mode it had then (C7). A corrected home region
moves the episode's counted contacts from the old home region to the new one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from projections.base import Projection
from projections.cursor import Cursor, write_rows
from projections.tables import table
from routing.kernel.calendar import swedish_month
from routing.messaging.envelope import CloudEvent

month_of = swedish_month


class EpisodeSummary(Projection):
    name: ClassVar[str] = "episode_summary"
    tables: ClassVar[tuple[str, ...]] = (
        "episode_summary",
        "episode_summary_episodes",
        "episode_summary_contacts",
    )
    interesting: ClassVar[frozenset[str]] = frozenset(
        {"contact_requested", "contact_completed", "physical_visit_held", "home_region_corrected"}
    )

    def create(self, cur: Cursor, suffix: str = "") -> None:
        cur.create(*(table(name, suffix) for name in self.tables))

    def __init__(self) -> None:
        # One page's worth of work, written set-based by ``flush`` (a round trip per
        # statement would make PostgreSQL the bottleneck).
        self._episodes: dict[str, str] = {}
        self._contacts: dict[tuple[str, str], str] = {}
        self._completed: list[tuple[str, str, str, str]] = []

    def discard_cache(self) -> None:
        self._episodes.clear()
        self._contacts.clear()
        self._completed.clear()

    def drop(self, cur: Cursor, suffix: str = "") -> None:
        self.discard_cache()
        super().drop(cur, suffix)

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        kind, data, episode = event.event_type, event.data, str(event.subject)
        if kind == "contact_requested":
            self._episodes.setdefault(episode, data["home_region"]["county"])
            self._contacts.setdefault((episode, data["contact_id"]), data["care_region"])
        elif kind in ("contact_completed", "physical_visit_held"):
            mode = data.get("mode", "physical") if kind == "contact_completed" else "physical"
            self._completed.append((episode, data["contact_id"], mode, month_of(event.time)))
        elif kind == "home_region_corrected":
            self.flush(cur, suffix)  # rare: applied directly, after everything before it
            self._correct(cur, suffix, episode, data["home_region"]["county"])

    def flush(self, cur: Cursor, suffix: str = "") -> None:
        write_rows(
            cur,
            f"INSERT INTO episode_summary_episodes{suffix} (episode_id, home_region)",
            list(self._episodes.items()),
            "ON CONFLICT (episode_id) DO NOTHING",
        )
        write_rows(
            cur,
            f"INSERT INTO episode_summary_contacts{suffix} (episode_id, contact_id, care_region)",
            [(e, c, care) for (e, c), care in self._contacts.items()],
            "ON CONFLICT (episode_id, contact_id) DO NOTHING",
        )
        if self._completed:
            regions = self._regions(cur, suffix, {(e, c) for e, c, _, _ in self._completed})
            # The last completion of a contact holds its mode and month (C7).
            last = {(e, c): (mode, month) for e, c, mode, month in self._completed}
            write_rows(
                cur,
                f"INSERT INTO episode_summary_contacts{suffix} "
                "(episode_id, contact_id, care_region, mode, month)",
                [
                    (e, c, "", mode, month)  # the row exists (regions): only mode and month set
                    for (e, c), (mode, month) in last.items()
                    if (e, c) in regions
                ],
                "ON CONFLICT (episode_id, contact_id) DO UPDATE "
                "SET mode = excluded.mode, month = excluded.month",
            )
            counts: Counter[tuple[str, str, str, str]] = Counter()
            for e, c, mode, month in self._completed:
                if (e, c) in regions:
                    home, care = regions[(e, c)]
                    counts[(home, care, mode, month)] += 1
            write_rows(
                cur,
                f"INSERT INTO episode_summary{suffix} (home_region, care_region, mode, month, "
                "contacts)",
                [(*k, n) for k, n in sorted(counts.items())],
                "ON CONFLICT (home_region, care_region, mode, month) DO UPDATE SET "
                f"contacts = episode_summary{suffix}.contacts + excluded.contacts",
                ("text", "text", "text", "text", "bigint"),
            )
        self.discard_cache()

    @staticmethod
    def _regions(
        cur: Cursor, suffix: str, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, str]]:
        """(home region, care region) of each completed contact, read in a few queries."""
        out: dict[tuple[str, str], tuple[str, str]] = {}
        episodes = sorted({e for e, _ in keys})
        for i in range(0, len(episodes), 500):
            chunk = episodes[i : i + 500]
            binds = ", ".join(f":e{n}" for n in range(len(chunk)))
            cur.execute(  # a string: SQLite's fast path (a Core IN cost 0.5 ms a page here)
                f"SELECT c.episode_id, c.contact_id, e.home_region, c.care_region "
                f"FROM episode_summary_contacts{suffix} c JOIN episode_summary_episodes{suffix} e"
                f" ON e.episode_id = c.episode_id WHERE c.episode_id IN ({binds})",
                {f"e{n}": episode for n, episode in enumerate(chunk)},
            )
            for e, c, home, care in cur.fetchall():
                if (e, c) in keys:
                    out[(e, c)] = (home, care)
        return out

    def _correct(self, cur: Cursor, suffix: str, episode: str, new_home: str) -> None:
        cur.execute(
            f"SELECT home_region FROM episode_summary_episodes{suffix} WHERE episode_id = :e",
            {"e": episode},
        )
        row = cur.fetchone()
        if row is None or row[0] == new_home:
            return
        cur.execute(
            f"SELECT care_region, mode, month FROM episode_summary_contacts{suffix} "
            "WHERE episode_id = :e AND month IS NOT NULL",
            {"e": episode},
        )
        for care, mode, month in cur.fetchall():
            self._add(cur, suffix, row[0], care, mode, month, -1)
            self._add(cur, suffix, new_home, care, mode, month, 1)
        cur.execute(
            f"UPDATE episode_summary_episodes{suffix} SET home_region = :h WHERE episode_id = :e",
            {"h": new_home, "e": episode},
        )

    @staticmethod
    def _add(cur: Cursor, suffix: str, home: str, care: str, mode: str, month: str, n: int) -> None:
        cur.execute(
            f"INSERT INTO episode_summary{suffix} (home_region, care_region, mode, month, contacts)"
            " VALUES (:h, :c, :mode, :month, :n) ON CONFLICT (home_region, care_region, mode,"
            " month) DO UPDATE SET"
            f" contacts = episode_summary{suffix}.contacts + excluded.contacts",
            {"h": home, "c": care, "mode": mode, "month": month, "n": n},
        )

    @staticmethod
    def rows(
        cur: Cursor, home_region: str | None = None, month: str | None = None
    ) -> list[dict[str, Any]]:
        cur.execute(
            "SELECT home_region, care_region, mode, month, contacts FROM episode_summary "
            "WHERE (CAST(:home AS TEXT) IS NULL OR home_region = :home) "
            "AND (CAST(:month AS TEXT) IS NULL OR month = :month) "
            "AND contacts <> 0 ORDER BY month, home_region, care_region, mode",
            {"home": home_region, "month": month},
        )
        keys = ("home_region", "care_region", "mode", "month", "contacts")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
