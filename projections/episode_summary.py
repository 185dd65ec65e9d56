"""Episode summary: completed contacts per home region, care region, mode and month.

A contact counts once, when it is completed (distance) or held (physical), in the month of
that moment in Swedish time and under the mode it had then (C7). A corrected home region
moves the episode's counted contacts from the old home region to the new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from projections.base import Projection
from projections.db import Cursor
from routing.messaging.envelope import CloudEvent

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def month_of(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m")


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
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS episode_summary{suffix} ("
            " home_region TEXT NOT NULL, care_region TEXT NOT NULL, mode TEXT NOT NULL,"
            " month TEXT NOT NULL, contacts BIGINT NOT NULL,"
            " PRIMARY KEY (home_region, care_region, mode, month))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS episode_summary_episodes{suffix} ("
            " episode_id TEXT PRIMARY KEY, home_region TEXT NOT NULL)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS episode_summary_contacts{suffix} ("
            " episode_id TEXT NOT NULL, contact_id TEXT NOT NULL, care_region TEXT NOT NULL,"
            " mode TEXT, month TEXT, PRIMARY KEY (episode_id, contact_id))"
        )

    def apply(self, cur: Cursor, event: CloudEvent, suffix: str = "") -> None:
        kind, data, episode = event.event_type, event.data, str(event.subject)
        if kind == "contact_requested":
            cur.execute(
                f"INSERT INTO episode_summary_episodes{suffix} (episode_id, home_region) "
                "VALUES (%s, %s) ON CONFLICT (episode_id) DO NOTHING",
                (episode, data["home_region"]["county"]),
            )
            cur.execute(
                f"INSERT INTO episode_summary_contacts{suffix} "
                "(episode_id, contact_id, care_region) VALUES (%s, %s, %s) "
                "ON CONFLICT (episode_id, contact_id) DO NOTHING",
                (episode, data["contact_id"], data["care_region"]),
            )
        elif kind in ("contact_completed", "physical_visit_held"):
            mode = data.get("mode", "physical") if kind == "contact_completed" else "physical"
            month = month_of(event.time)
            cur.execute(
                f"UPDATE episode_summary_contacts{suffix} SET mode = %s, month = %s "
                "WHERE episode_id = %s AND contact_id = %s",
                (mode, month, episode, data["contact_id"]),
            )
            cur.execute(
                f"SELECT e.home_region, c.care_region FROM episode_summary_episodes{suffix} e "
                f"JOIN episode_summary_contacts{suffix} c ON c.episode_id = e.episode_id "
                "WHERE c.episode_id = %s AND c.contact_id = %s",
                (episode, data["contact_id"]),
            )
            row = cur.fetchone()
            if row is not None:
                self._add(cur, suffix, row[0], row[1], mode, month, 1)
        elif kind == "home_region_corrected":
            new_home = data["home_region"]["county"]
            cur.execute(
                f"SELECT home_region FROM episode_summary_episodes{suffix} WHERE episode_id = %s",
                (episode,),
            )
            row = cur.fetchone()
            if row is None or row[0] == new_home:
                return
            cur.execute(
                f"SELECT care_region, mode, month FROM episode_summary_contacts{suffix} "
                "WHERE episode_id = %s AND month IS NOT NULL",
                (episode,),
            )
            for care, mode, month in cur.fetchall():
                self._add(cur, suffix, row[0], care, mode, month, -1)
                self._add(cur, suffix, new_home, care, mode, month, 1)
            cur.execute(
                f"UPDATE episode_summary_episodes{suffix} SET home_region = %s "
                "WHERE episode_id = %s",
                (new_home, episode),
            )

    @staticmethod
    def _add(cur: Cursor, suffix: str, home: str, care: str, mode: str, month: str, n: int) -> None:
        cur.execute(
            f"INSERT INTO episode_summary{suffix} (home_region, care_region, mode, month, contacts)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (home_region, care_region, mode, month)"
            f" DO UPDATE SET contacts = episode_summary{suffix}.contacts + excluded.contacts",
            (home, care, mode, month, n),
        )

    @staticmethod
    def rows(
        cur: Cursor, home_region: str | None = None, month: str | None = None
    ) -> list[dict[str, Any]]:
        cur.execute(
            "SELECT home_region, care_region, mode, month, contacts FROM episode_summary "
            "WHERE (CAST(%s AS TEXT) IS NULL OR home_region = %s) "
            "AND (CAST(%s AS TEXT) IS NULL OR month = %s) "
            "AND contacts <> 0 ORDER BY month, home_region, care_region, mode",
            (home_region, home_region, month, month),
        )
        keys = ("home_region", "care_region", "mode", "month", "contacts")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
