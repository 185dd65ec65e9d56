"""Care guarantee, necessity, the auditor's timeline, chain and trail, and a what-if, in a
real Chromium; figures against the API's, every page against axe-core."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from routing.access import Role
from tests.auth_support import bearer
from tests.browser.support import api_json, chain_reported, check_page, sign_in, text

pytestmark = pytest.mark.browser
REGION = "01"


def _month_with_visits(base: str) -> str:
    today = date.today().replace(day=1)
    best, most = "", -1
    for back in range(1, 12):
        month = (today - timedelta(days=28 * back)).strftime("%Y-%m")
        visits = api_json(base, "/necessity/summary", Role.auditor, care_region=REGION,
                          month=month)["visits"]  # fmt: skip
        if visits > most:
            best, most = month, visits
    assert most > 0
    return best


def test_care_guarantee_and_necessity_equal_the_api(browser: Any, console_server: str) -> None:
    month = _month_with_visits(console_server)
    sign_in(browser, console_server, "finance", REGION)
    browser.get(f"{console_server}/console/care-guarantee?month={month}")
    summary = api_json(console_server, "/care-guarantee/summary", Role.finance,
                       as_region=REGION, region=REGION, period=month)  # fmt: skip
    rows = browser.find_elements(By.CSS_SELECTOR, "#guarantee-month tbody tr")
    for row, clock in zip(rows, summary["clocks"], strict=True):
        cells = [c.get_attribute("textContent") for c in row.find_elements(By.TAG_NAME, "td")]
        shown = [int(c.replace("\u202f", "")) for c in cells[1:4]]
        assert shown == [clock["met"], clock["breached"], clock["pending"]]
    check_page(browser, "care-guarantee")
    browser.get(f"{console_server}/console/necessity?month={month}")
    necessity = api_json(console_server, "/necessity/summary", Role.finance, as_region=REGION,
                         care_region=REGION, month=month)  # fmt: skip
    units = [
        (r.find_element(By.TAG_NAME, "th").text, int(r.find_elements(By.TAG_NAME, "td")[0].text))
        for r in browser.find_elements(By.CSS_SELECTOR, "#necessity-units tbody tr")
    ]
    assert units == [(u["care_unit_id"], u["visits"]) for u in necessity["by_care_unit"]]
    check_page(browser, "necessity")


def test_auditor_timeline_chain_and_trail(browser: Any, console_server: str) -> None:
    sign_in(browser, console_server, "auditor")
    browser.get(f"{console_server}/console/liability?region={REGION}")
    browser.find_element(By.ID, "owes-contacts").click()
    browser.find_element(By.CSS_SELECTOR, "#contacts tbody a").click()
    browser.find_element(By.ID, "to-audit").click()
    occurred = browser.find_elements(By.CSS_SELECTOR, "#occurred tbody tr")
    assert occurred
    assert browser.find_elements(By.CSS_SELECTOR, "#trail tbody tr")
    trail = browser.find_element(By.ID, "trail").text
    assert "dev-auditor" in trail  # this very view is in the access trail
    for table in ("occurred", "known", "learnt", "trail"):  # named once: by its heading
        named_by = browser.find_element(By.ID, table).get_attribute("aria-labelledby")
        assert browser.find_element(By.ID, named_by).tag_name == "h2"
        assert not browser.find_elements(By.CSS_SELECTOR, f"#{table} caption")
    check_page(browser, "audit")
    # At a moment after the last fact occurred but before any was recorded (the demo data is
    # recorded at start-up): all occurred by then, none known, each marked late.
    last = browser.find_elements(By.CSS_SELECTOR, "#occurred tbody tr td")[-3].text
    moment = (datetime.fromisoformat(last) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    browser.get(browser.current_url.split("&at=")[0] + f"&at={moment}")
    occurred = browser.find_elements(By.CSS_SELECTOR, "#occurred tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, ".late").text for r in occurred] == [
        "sent registrerad"
    ] * len(occurred)
    assert browser.find_element(By.CSS_SELECTOR, "#known tbody").text == "Inga."
    check_page(browser, "audit-late")
    browser.find_element(By.ID, "check-chain").click()
    chain_reported(browser)  # the check runs in the background: its page shows progress until done
    chain = api_json(console_server, "/audit/chain", Role.auditor)
    assert chain["intact"] is True
    assert text(browser, "chain-status") == "Hashkedjan är obruten."
    assert int(text(browser, "chain-rows").replace("\u202f", "")) == chain["rows"]
    check_page(browser, "chain")


def test_what_if_equals_the_api(browser: Any, console_server: str) -> None:
    end = date.today()
    start = end - timedelta(days=365)
    sign_in(browser, console_server, "auditor")
    browser.get(f"{console_server}/console/what-if")
    for field, day in (
        ("w-start", start),
        ("w-end", end),
    ):  # a date picker's typing is locale-bound
        element = browser.find_element(By.ID, field)
        browser.execute_script("arguments[0].value = arguments[1]", element, day.isoformat())
    Select(browser.find_element(By.ID, "w-ds")).select_by_value("off")
    browser.find_element(By.ID, "run-whatif").click()
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.ID, "whatif-summary"))
    body = {"start": start.isoformat(), "end": end.isoformat(), "ds_2023_27_enabled": False}
    request = urllib.request.Request(
        f"{console_server}/audit/simulations", data=json.dumps(body).encode(),
        headers={**bearer([Role.auditor], sub="browser-test-api"),
                 "content-type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        simulated = json.loads(response.read())
    assert f"{simulated['changed_total']} kontakter ändras" in text(browser, "whatif-summary")
    rows = browser.find_elements(By.CSS_SELECTOR, "#whatif-regions tbody tr")
    assert len(rows) == len(simulated["regions"])
    check_page(browser, "what-if")
