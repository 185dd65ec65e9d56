"""The hash chain checked against an anchor from the console, in a real Chromium: the head
the page reports, given back as the anchor, holds; the same position with another digest is
reported rewritten; a position beyond the head is reported truncated (removed rows), which
the chain alone cannot show. Expected outcomes follow from the anchors the test types."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.support import chain_reported as reported
from tests.browser.support import check_page, sign_in, text, to_the_next_page

pytestmark = pytest.mark.browser


def _check(browser: Any, position: str, digest: str) -> None:
    for field, value in (("a-position", position), ("a-digest", digest)):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    # the answer is a new page: read it, not the one the form was on
    to_the_next_page(browser, browser.find_element(By.ID, "check-anchor").click)
    reported(browser)


def _findings(browser: Any) -> list[tuple[str, str]]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#findings tbody tr")
    return [(r.find_elements(By.TAG_NAME, "td")[0].text, r.find_elements(By.TAG_NAME, "td")[1].text)
            for r in rows]  # fmt: skip


def test_hash_chain_against_an_anchor(browser: Any, console_server: str) -> None:
    sign_in(browser, console_server, "auditor")
    # the sign-in's answer may still be on its way: open the page once the session holds
    WebDriverWait(browser, 30).until(
        lambda d: d.get(f"{console_server}/console/audit") or d.find_elements(By.ID, "check-chain")
    )
    browser.find_element(By.ID, "check-chain").click()
    reported(browser)
    position, digest = text(browser, "chain-head").split(" ")
    assert len(digest) == 64
    _check(browser, position, digest)
    assert text(browser, "chain-status") == "Hashkedjan är obruten."
    assert (
        text(browser, "anchor-held") == f"Ankaret finns kvar: position {position} har samma hash."
    )
    check_page(browser, "chain-anchor")
    other = ("0" if digest[0] != "0" else "1") + digest[1:]
    _check(browser, position, other)
    assert text(browser, "chain-status").startswith("Hashkedjan är bruten")
    assert _findings(browser) == [(position, "omskriven rewritten")]
    check_page(browser, "chain-anchor-rewritten")
    beyond = str(int(position) + 1_000_000)
    _check(browser, beyond, digest)
    assert _findings(browser) == [(beyond, "avkortad (rader borttagna) truncated")]
    _check(browser, position, "")
    assert text(browser, "chain-error").startswith("Hashen ska vara 64 hexadecimala tecken")
    _check(browser, "0", digest)
    assert text(browser, "chain-error").startswith("Positionen ska vara ett heltal från 1")
    check_page(browser, "chain-anchor-error")
