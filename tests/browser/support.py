"""What the browser tests do again and again: sign in, follow a form to its answer, read a
figure, run axe-core, keep a screenshot, and ask the API the same question with a bearer
token."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from selenium.common.exceptions import (
    InvalidSessionIdException,
    NoSuchWindowException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from routing.access import Role
from tests.auth_support import bearer
from tests.browser.conftest import ARTIFACTS, AXE, _get

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def sign_in(driver: WebDriver, base: str, role: str, region: str | None = None) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/console/login")
    if role == "auditor":
        driver.find_element(By.ID, "login-auditor").click()
    else:
        Select(driver.find_element(By.ID, "login-region")).select_by_value(region or "")
        driver.find_element(By.ID, "login-finance").click()
    # signed in once the answer to the login form has set the session cookie
    WebDriverWait(driver, 30).until(lambda d: d.get_cookie("routing_console") is not None)


def to_the_next_page(driver: WebDriver, act: Callable[[], None], timeout: float = 30) -> None:
    """Does ``act`` (a click that submits a form) and waits until the page it leads to is
    loaded. The old page is marked in its window, which a new document does not inherit.
    Selenium's ``staleness_of`` asks the old element instead, and Chromium can answer that
    with an "unknown error" (node not in the document) while the page is being replaced."""
    driver.execute_script("window.routingLeftPage = true")
    act()

    def arrived(d: WebDriver) -> bool:
        try:
            return bool(d.execute_script(
                "return !window.routingLeftPage && document.readyState === 'complete'"
            ))  # fmt: skip
        except (InvalidSessionIdException, NoSuchWindowException):
            raise  # the browser is gone: no page will come
        except WebDriverException:  # the old page is being unloaded: ask again
            return False

    WebDriverWait(driver, timeout).until(arrived)


def text(driver: WebDriver, element_id: str) -> str:
    """What the element says, no-break spaces kept (WebElement.text turns them into spaces)."""
    found = driver.find_element(By.ID, element_id).get_attribute("textContent")
    return " ".join(str(found).split(" ")).strip()


def chain_reported(driver: WebDriver) -> None:
    """Waits for a hash-chain check's report (or the form's error): the check runs in the
    background and its page shows progress until then."""
    WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.ID, "chain-status") or d.find_elements(By.ID, "chain-error")
    )


def kronor(shown: str) -> int:
    """'1 234 kr' / '-1 234 kr' (a minus sign) -> int: what a person reads off the page."""
    digits = re.sub(r"[^\d]", "", shown)
    return -int(digits) if shown.strip().startswith("\u2212") else int(digits)


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"axe.run(document, {{runOnly: {json.dumps(AXE_TAGS)}}})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', help: String(e)}]));"
    )
    return [
        {"id": v["id"], "help": v.get("help"), "nodes": [n.get("target") for n in v["nodes"]][:3]}
        for v in result
    ]


def check_page(driver: WebDriver, name: str) -> None:
    """Keeps a full-page screenshot under tests/artifacts/ and asserts axe finds nothing."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))
    assert axe_violations(driver) == [], name


def api(base: str, path: str, role: Role, **params: str) -> tuple[int, bytes]:
    """The API's answer to the same question, as region finance of ``region`` or an auditor."""
    claims: dict[str, Any] = {"sub": "browser-test-api"}
    if role is Role.finance:
        claims["region"] = params.pop("as_region")
    query = urllib.parse.urlencode(params)
    return _get(f"{base}{path}?{query}", bearer([role], **claims))


def api_json(base: str, path: str, role: Role, **params: str) -> Any:
    status, body = api(base, path, role, **params)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)
