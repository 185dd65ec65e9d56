"""The auditor picks two times and sees exactly the facts recorded between them, in a real
Chromium. The facts are recorded by the test itself (a new episode, two facts whose recorded
times lie in different whole seconds), so the expected rows come from what was sent."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By

from tests.auth_support import all_roles
from tests.browser.support import check_page, sign_in, text, to_the_next_page
from tests.support import contact_requested, triage_completed

pytestmark = pytest.mark.browser
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _post(base: str, body: dict[str, Any]) -> datetime:
    """Records one fact through the API; its recorded time, in Swedish time."""
    request = urllib.request.Request(
        f"{base}/events", data=json.dumps(body).encode(), method="POST",
        headers={**all_roles(), "content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return datetime.fromisoformat(json.loads(response.read())["recorded_at"]).astimezone(
            STOCKHOLM
        )


def _second(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def _learnt(browser: Any, base: str, episode: str, since: datetime, until: datetime) -> list[str]:
    browser.get(f"{base}/console/audit?episode_id={episode}")
    for field, moment in (("f-at", since), ("f-until", until)):  # typing is locale-bound
        element = browser.find_element(By.ID, field)
        browser.execute_script("arguments[0].value = arguments[1]", element, _second(moment))
    button = browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]")
    to_the_next_page(browser, button.click)  # the answer page, not the form's
    rows = browser.find_elements(By.CSS_SELECTOR, "#learnt tbody tr")
    # the fact's type, as the API names it, beside its Swedish name
    return [r.find_elements(By.TAG_NAME, "td")[1].find_element(By.TAG_NAME, "code").text
            for r in rows]  # fmt: skip


def test_what_was_learnt_between_two_times(browser: Any, console_server: str) -> None:
    episode = str(uuid4())
    first = _post(console_server, contact_requested(episode))
    start = first.replace(microsecond=0)  # the whole second the first fact was recorded in
    while datetime.now(STOCKHOLM) < start + timedelta(seconds=2):
        time.sleep(0.1)  # the second fact lands in a later whole second than ``start + 1 s``
    second = _post(console_server, triage_completed(episode))
    assert second > start + timedelta(seconds=2)
    sign_in(browser, console_server, "auditor")
    since, until = start - timedelta(seconds=1), start + timedelta(seconds=1)
    assert _learnt(browser, console_server, episode, since, until) == ["contact_requested"]
    heading = text(browser, "learnt-h")
    assert _second(since).replace("T", " ") in heading
    assert _second(until).replace("T", " ") in heading
    check_page(browser, "audit-window")
    assert _learnt(browser, console_server, episode, until, second + timedelta(seconds=1)) == [
        "triage_completed"
    ]
    assert _learnt(browser, console_server, episode, since, second + timedelta(seconds=1)) == [
        "contact_requested", "triage_completed"
    ]  # fmt: skip
    # an end before the start is said so, not answered with an empty list
    browser.get(
        f"{console_server}/console/audit?episode_id={episode}"
        f"&at={_second(until)}&until={_second(since)}"
    )
    assert text(browser, "audit-error").startswith("Sluttiden ligger före starttiden")
    assert not browser.find_elements(By.ID, "learnt")
    browser.get(f"{console_server}/console/audit?episode_id={episode}&at=2025-13-40T25:00")
    assert text(browser, "audit-error").startswith("Ingen sådan tidpunkt")
