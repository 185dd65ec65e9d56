"""Region finance in a real Chromium: sign in, read the month's liability, drill down to one
contact's rule trace, be refused another region, close a month and download its
specification. Every figure is checked against the API's answer to the same question, and
every page against axe-core (WCAG 2.1 A and AA)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from api.console.i18n import previous_months
from routing.access import Role
from tests.browser.support import (
    api,
    api_json,
    check_page,
    kronor,
    sign_in,
    text,
)

pytestmark = pytest.mark.browser
REGION = "01"  # Stockholm: the largest population, so the most demo contacts


@pytest.fixture(scope="module")
def busy_month(console_server: str) -> str:
    """The month of the demo year in which Stockholm owes the most (asked of the API)."""
    today = date.today()
    months = previous_months(f"{today.year:04d}-{today.month:02d}", 12)
    owed = {
        m: api_json(console_server, "/finance/liability", Role.auditor, home_region=REGION,
                    month=m)["invoiced_amount"]
        for m in months
    }  # fmt: skip
    month = max(owed, key=lambda m: owed[m])
    assert owed[month] > 0, owed
    return month


def test_liability_month_equals_the_api(browser: Any, console_server: str, busy_month: str) -> None:
    sign_in(browser, console_server, "finance", REGION)
    browser.get(f"{console_server}/console/liability?month={busy_month}")
    owes = api_json(console_server, "/finance/liability", Role.finance, as_region=REGION,
                    home_region=REGION, month=busy_month)  # fmt: skip
    shown = text(browser, "owes-total")
    assert kronor(shown) == owes["invoiced_amount"]
    assert (shown.endswith("\u00a0kr") and "\u202f" in shown) or owes["invoiced_amount"] < 1000
    contacts = text(browser, "owes-contacts")
    assert int("".join(c for c in contacts.split(" ")[0] if c.isdigit())) == owes["contacts"]
    first_care = owes["by_care_region"][0]
    row = browser.find_element(By.CSS_SELECTOR, "#owes-by-care tbody tr")
    assert kronor(row.find_elements(By.TAG_NAME, "td")[1].text) == first_care["invoiced_amount"]
    assert "Stockholm" in browser.find_element(By.TAG_NAME, "h1").text  # names, not codes
    indicators = api_json(console_server, f"/indicators/regions/{REGION}", Role.auditor,
                          period=busy_month)["figures"]  # fmt: skip
    cost = next(f for f in indicators if f["id"] == "out_of_region_digital_cost")
    shown_cost = browser.find_elements(By.CSS_SELECTOR, "#indicators tbody td.num")[2]
    assert kronor(shown_cost.get_attribute("textContent")) == cost["value"]
    check_page(browser, "liability")


def test_drill_down_to_a_contacts_trace(browser: Any, console_server: str, busy_month: str) -> None:
    sign_in(browser, console_server, "finance", REGION)
    browser.get(f"{console_server}/console/liability?month={busy_month}")
    browser.find_element(By.ID, "owes-contacts").click()
    owes = api_json(console_server, "/finance/liability", Role.auditor, home_region=REGION,
                    month=busy_month)  # fmt: skip
    assert f"({owes['contacts']} " in text(browser, "page-info").replace("\u202f", "")
    check_page(browser, "contacts")
    browser.find_element(By.CSS_SELECTOR, "#contacts tbody a").click()
    episode, contact = browser.current_url.split("/console/contacts/")[1].split("?")[0].split("/")
    explained = api_json(console_server, f"/finance/contacts/{episode}/{contact}", Role.auditor)
    decision = explained["decision"]
    assert kronor(text(browser, "d-amount")) == decision["invoiced_amount"]
    assert decision["rulebook"] in text(browser, "d-rulebook")
    rules = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#trace tbody th")]
    assert rules == [step["rule"] for step in decision["trace"]]
    assert rules
    assert browser.find_elements(By.CSS_SELECTOR, "#facts tbody tr")
    check_page(browser, "contact")


def test_finance_of_another_region_is_refused(browser: Any, console_server: str) -> None:
    sign_in(browser, console_server, "finance", "14")
    browser.get(f"{console_server}/console/liability?region={REGION}")
    assert "Stockholm" in text(browser, "refusal")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Åtkomst nekad"
    status, _ = api(console_server, "/finance/liability", Role.finance, as_region="14",
                    home_region=REGION, month="2025-01")  # fmt: skip
    assert status == 403  # the API refuses the same question
    check_page(browser, "refused")


def _wait_for_specification(base: str, care: str, home: str, month: str) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the close reaches the read model through the broker
        status, body = api(base, "/finance/invoices", Role.auditor, care_region=care,
                           home_region=home, month=month, format="csv")  # fmt: skip
        if status == 200:
            return body
        time.sleep(0.5)
    raise AssertionError("the close never reached the liability read model")


def test_close_a_month_and_download_its_specification(
    browser: Any, console_server: str, busy_month: str, tmp_path: Path
) -> None:
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    sign_in(browser, console_server, "finance", REGION)
    browser.get(f"{console_server}/console/liability?month={busy_month}")
    link = browser.find_element(By.CSS_SELECTOR, "#owes-detail-h ~ .close-links a")
    care = link.get_attribute("href").split("care_region=")[1][:2]
    link.click()
    assert "kan inte ångras" in text(browser, "close-explain")
    check_page(browser, "close-confirm")
    browser.find_element(By.ID, "confirm-close").click()
    assert text(browser, "close-result") == "Månaden är stängd."
    expected = _wait_for_specification(console_server, care, REGION, busy_month)
    check_page(browser, "closed")
    browser.find_element(By.ID, "spec-csv").click()
    name = f"fakturaunderlag-{care}-{REGION}-{busy_month}.csv"
    deadline = time.monotonic() + 20
    while not (tmp_path / name).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / name).read_bytes() == expected
    browser.get(f"{console_server}/console/liability?month={busy_month}")
    closes = browser.find_element(By.ID, "closes").text
    assert "Stockholm" in closes
