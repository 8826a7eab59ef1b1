"""The HTML step-through of the backward pass, in a real browser.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``; CI installs them) opens the page
that ``save_backward_html`` writes, clicks "Next" to the end, and the table must show the
gradients ``backward()`` gives. Selenium drives the browser found on this machine and never
downloads one. Skipped only where Chromium or its driver is not installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from autodiff import Value, save_backward_html, topological_order
from nn import MLP

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)),
    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver; CI does)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    saved = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, if it ran at all, may fetch nothing
    profile = tempfile.mkdtemp(prefix="chaingrad-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if saved is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = saved


def table(driver: webdriver.Chrome) -> dict[str, tuple[str, str]]:
    """The gradients table: node name -> (shown grad, exact grad as repr)."""
    rows = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#grads tbody tr"):
        cell = row.find_element(By.CSS_SELECTOR, "td.grad")
        rows[row.get_attribute("data-node") or ""] = (cell.text, cell.get_attribute("data-grad") or "")
    return rows


def errors(driver: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def step_through(driver: webdriver.Chrome, page: Path, frames: int) -> None:
    """Open ``page`` and click Next until it is disabled, checking the counter on the way."""
    driver.get(page.resolve().as_uri())
    counter = driver.find_element(By.ID, "counter")
    next_button = driver.find_element(By.ID, "next")
    assert counter.text == f"Step 1 of {frames}"
    assert driver.find_element(By.ID, "prev").get_attribute("disabled") is not None
    clicks = 0
    while next_button.is_enabled():
        next_button.click()
        clicks += 1
        assert counter.text == f"Step {clicks + 1} of {frames}"
        assert clicks < frames
    assert clicks == frames - 1
    loaded = driver.execute_script(
        "const img = document.getElementById('frame');"
        "return img.complete && img.naturalWidth > 0;"
    )
    assert loaded, "the frame's SVG did not load"


def test_clicking_next_to_the_end_shows_the_gradients_of_backward(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w1, w2 = Value(0.5, label="w1"), Value(1.5, label="w2")
    z = 2.0 * w1 + 1.0
    z.label = "z"
    L = z * w2 + 0.5
    L.label = "L"
    page = save_backward_html(L, tmp_path / "steps.html")

    step_through(browser, page, frames=6)
    assert browser.find_element(By.ID, "caption").text.startswith("Step 6 of 6: w1")
    L.backward()
    shown = table(browser)
    assert shown["w1"] == ("3", repr(w1.grad)) and shown["w2"] == ("2", repr(w2.grad))
    assert shown["z"] == ("1.5", repr(z.grad)) and shown["L"] == ("1", "1.0")

    # back one step with the arrow key, and to the start with the slider
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.ID, "counter").text == "Step 5 of 6"
    browser.execute_script(
        "const s = document.getElementById('step'); s.value = '0';"
        "s.dispatchEvent(new Event('input'));"
    )
    assert browser.find_element(By.ID, "counter").text == "Step 1 of 6"
    start = table(browser)
    assert start["L"] == ("1", "1.0") and start["w1"] == ("–", "")  # not reached yet
    assert errors(browser) == []


def test_a_network_steps_through_to_backwards_gradients(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    x = [Value(0.5, label="x0"), Value(-1.2, label="x1")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    page = save_backward_html(loss, tmp_path / "mlp.html", group="labels")

    step_through(browser, page, frames=len(topological_order(loss)))
    loss.backward()
    shown = table(browser)
    for p in [*model.parameters(), *x]:
        assert p.label is not None
        assert float(shown[p.label][1]) == p.grad, p.label
        assert shown[p.label][0] == format(p.grad, ".4g")
    assert errors(browser) == []
