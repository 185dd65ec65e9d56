"""Credit notes raised after a month's close, and why, in a real Chromium: finance closes a
month, a contact's home region is then corrected (folkbokföring recorded wrongly), and the
credit-note view shows the credit line with Inera's reason 1, "Fel hemregion" (docs/domain.md,
R10), marked as raised after the close; every row equal to the 381 lines of the API's
``GET /finance/invoices``."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from routing.access import Role
from tests.auth_support import all_roles
from tests.browser.support import api, api_json, check_page, kronor, sign_in, text
from tests.support import home_region_corrected

pytestmark = pytest.mark.browser
HOME = "01"  # Stockholm
WRONG_HOME_REGION = 1  # Inera reasonForCredit


def _invoiced_contact(base: str) -> tuple[str, dict[str, Any]]:
    """A month and a contact Stockholm pays another region for (asked of the API)."""
    today = datetime.now(UTC).date()
    for back in range(2, 12):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        ym = f"{year:04d}-{month + 1:02d}"
        found = api_json(base, "/finance/liability/contacts", Role.auditor, home_region=HOME,
                         month=ym, status="home_region_liable", limit="200")  # fmt: skip
        for decision in found:
            if decision["care_region"] not in (HOME, "14") and decision["invoiced_amount"]:
                return ym, decision
    raise AssertionError("no invoiced out-of-region contact in the demo year")


def _specification(base: str, care: str, month: str) -> dict[str, Any] | None:
    status, body = api(base, "/finance/invoices", Role.auditor, care_region=care,
                       home_region=HOME, month=month)  # fmt: skip
    return json.loads(body) if status == 200 else None


def _credit_lines(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    docs = (spec or {}).get("processClaimSpecifications", [])
    credit_notes = [d for d in docs if d["typeOfInvoice"] == 381]
    return [line for d in credit_notes for line in d["healthcareServicesSpecificationLine"]]


def test_credit_notes_after_the_close_and_why(browser: Any, console_server: str) -> None:
    month, decision = _invoiced_contact(console_server)
    care, episode = decision["care_region"], decision["episode_id"]
    sign_in(browser, console_server, "finance", HOME)
    browser.get(f"{console_server}/console/close?care_region={care}&home_region={HOME}"
                f"&month={month}")  # fmt: skip
    browser.find_element(By.ID, "confirm-close").click()
    assert browser.find_element(By.ID, "credit-notes")  # reachable beside the specification
    deadline = time.monotonic() + 60
    while _specification(console_server, care, month) is None:  # through the broker
        assert time.monotonic() < deadline, "the close never reached the read model"
        time.sleep(0.5)
    body = home_region_corrected(episode, occurred_at=datetime.now(UTC).isoformat())
    request = urllib.request.Request(
        f"{console_server}/events", data=json.dumps(body).encode(), method="POST",
        headers={**all_roles(), "content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    contact = f"{episode}:{decision['contact_id']}"
    deadline = time.monotonic() + 60
    while not [
        x for x in _credit_lines(_specification(console_server, care, month))
        if x["careContactId"] == contact
    ]:  # fmt: skip
        assert time.monotonic() < deadline, "the correction never credited the line"
        time.sleep(0.5)
    expected = _credit_lines(_specification(console_server, care, month))

    browser.get(f"{console_server}/console/liability?month={month}")
    browser.find_element(
        By.CSS_SELECTOR, f"#closes a.credit-notes[href*='care_region={care}']"
    ).click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#credit-lines tbody tr")
    shown = [[c.get_attribute("textContent") for c in r.find_elements(By.TAG_NAME, "td")]
             for r in rows]  # fmt: skip
    assert [(s[0], s[1], int(s[2].split(" ")[0]), kronor(s[3])) for s in shown] == [
        (x["routingLineId"], x["creditsLine"], x["reasonForCredit"],
         x["invoicedAmountDetails"]["netAmount"]) for x in expected
    ]  # fmt: skip
    ours = [s for s, x in zip(shown, expected, strict=True) if x["careContactId"] == contact]
    assert len(ours) == 1
    assert ours[0][2] == f"{WRONG_HOME_REGION} \u2013 Fel hemregion"
    assert "efter stängningen" in ours[0][4]
    assert kronor(ours[0][3]) == -decision["invoiced_amount"]
    assert kronor(text(browser, "credit-total")) == sum(
        x["invoicedAmountDetails"]["netAmount"] for x in expected
    )
    check_page(browser, "credit-notes")
    sign_in(browser, console_server, "finance", "14")  # neither region of the pair
    browser.get(f"{console_server}/console/credit-notes?care_region={care}&home_region={HOME}"
                f"&month={month}")  # fmt: skip
    assert browser.find_element(By.TAG_NAME, "h1").text == "Åtkomst nekad"
