"""A what-if run in a real Chromium: the page shows how far the run has got while it runs
(refreshed by its script), then the result, equal to the API's ``POST /audit/simulations``.
The log is made long first: 11 000 facts of 1 000 new episodes, so a run from the log reads
at least a dozen pages of 1 000 (api/console/runs.py)."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from routing.access import Role
from tests.auth_support import all_roles, bearer
from tests.browser.support import api_json, check_page, sign_in, text
from tests.support import typical_journey

pytestmark = pytest.mark.browser
EPISODES = 1000


def _post(base: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body).encode(), method="POST",
        headers={**headers, "content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def _long_log(base: str) -> None:
    facts = [f for _ in range(EPISODES) for f in typical_journey(uuid4())]
    for i in range(0, len(facts), 1000):
        _post(base, "/events/batch", {"events": facts[i : i + 1000]}, all_roles())


def _numbers(shown: str) -> list[int]:
    return [
        int(n.replace("\u202f", "")) for n in shown.split(" ") if n.replace("\u202f", "").isdigit()
    ]


def test_a_long_what_if_shows_progress_then_the_result(browser: Any, console_server: str) -> None:
    _long_log(console_server)
    store = api_json(console_server, "/projections/positions", Role.auditor)["store"]
    end = date.today()
    start = end - timedelta(days=730)
    sign_in(browser, console_server, "auditor")
    browser.get(f"{console_server}/console/what-if")
    for field, day in (("w-start", start), ("w-end", end)):  # date typing is locale-bound
        element = browser.find_element(By.ID, field)
        browser.execute_script("arguments[0].value = arguments[1]", element, day.isoformat())
    Select(browser.find_element(By.ID, "w-ds")).select_by_value("off")
    browser.find_element(By.ID, "run-whatif").click()
    seen: list[list[int]] = []

    def progressed(driver: Any) -> bool:
        found = driver.find_elements(By.ID, "whatif-progress")
        if found:
            seen.append(_numbers(str(found[0].get_attribute("textContent"))))
            if len(seen) == 1:  # the progress page itself, once: screenshot and axe-core
                check_page(driver, "what-if-progress")
        return bool(driver.find_elements(By.ID, "whatif-summary"))

    WebDriverWait(browser, 300, poll_frequency=0.05).until(progressed)
    # The run reads the log when the read model is still behind the 11 000 new facts (then
    # its progress is shown while it reads); once caught up it answers from the decisions'
    # inputs in well under a second and the result may be the first page shown.
    assert all(total == store for _, total in seen)  # of every record in the log
    assert [read for read, _ in seen] == sorted(read for read, _ in seen)
    body = {"start": start.isoformat(), "end": end.isoformat(), "ds_2023_27_enabled": False}
    simulated = _post(console_server, "/audit/simulations", body,
                      bearer([Role.auditor], sub="browser-test-api"))  # fmt: skip
    changed = f"{simulated['changed_total']:,}".replace(",", "\u202f")  # Swedish grouping
    assert f"{changed} kontakter ändras" in text(browser, "whatif-summary")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#whatif-regions tbody tr")) == len(
        simulated["regions"]
    )
    check_page(browser, "what-if-result")
