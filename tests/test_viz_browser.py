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
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

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


# --- pictures fit the width they are shown in -------------------------------------------------------


def book_network() -> Value:
    """Notebook 03's network: one input, one hidden neuron, one output neuron, sigmoids, and a
    squared error; 13 nodes, a wide picture left to right."""
    w1, b1, w2, b2 = (Value(v, label=n) for n, v in (("w1", 0.5), ("b1", 1.0), ("w2", 1.5), ("b2", 0.5)))
    z1 = w1 * 2.0 + b1
    z1.label = "z1"
    a1 = z1.sigmoid()
    a1.label = "a1"
    z2 = w2 * a1 + b2
    z2.label = "z2"
    a2 = z2.sigmoid()
    a2.label = "a2"
    r = 0.5 - a2
    r.label = "r"
    C = 0.5 * r**2
    C.label = "C"
    return C


@pytest.fixture
def narrow(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser with a window 1,000 pixels wide (as wide as a laptop's notebook cell area)."""
    size = browser.get_window_size()
    browser.set_window_size(1000, 900)
    try:  # headless Chrome may resize a moment later, on a busy machine
        WebDriverWait(browser, 10).until(lambda b: b.execute_script("return window.innerWidth") == 1000)
        yield browser
    finally:
        browser.set_window_size(size["width"], size["height"])


FITS = """
const box = document.getElementById('picture'), img = document.getElementById('frame');
const r = img.getBoundingClientRect(), b = box.getBoundingClientRect();
return {left: r.left - b.left, right: b.right - r.right, width: r.width, inner: box.clientWidth,
        boxScroll: box.scrollWidth - box.clientWidth,
        pageScroll: document.documentElement.scrollWidth - window.innerWidth};
"""


@pytest.mark.parametrize("rankdir", ["auto", "LR"])
def test_the_step_through_page_of_a_wide_graph_fits_the_window(
    narrow: webdriver.Chrome, tmp_path: Path, rankdir: str
) -> None:
    page = save_backward_html(book_network(), tmp_path / "wide.html", rankdir=rankdir)
    narrow.get(page.resolve().as_uri())
    next_button = narrow.find_element(By.ID, "next")
    for _ in range(13):
        fit = narrow.execute_script(FITS)
        assert fit["left"] >= -0.5 and fit["right"] >= -0.5, fit  # inside its frame
        assert fit["boxScroll"] <= 0 and fit["pageScroll"] <= 0, fit  # nothing to scroll sideways
        assert fit["width"] > 0.3 * fit["inner"], fit  # shrunk to fit, not to nothing
        if next_button.is_enabled():
            next_button.click()
    # at its actual size a wide picture scrolls inside its frame, which still fits the page,
    # and the node being processed (w1, the last) is scrolled into view
    narrow.find_element(By.ID, "zoom").click()
    fit = narrow.execute_script(FITS)
    assert fit["pageScroll"] <= 0, fit
    if rankdir == "LR":
        assert fit["boxScroll"] > 0, fit
        where = narrow.execute_script(
            "const box = document.getElementById('picture'), img = document.getElementById('frame');"
            "const f = data.frames[data.frames.length - 1].focus;"
            "return img.offsetLeft + f[0] * img.clientWidth - box.scrollLeft;")
        assert 0 <= where <= fit["inner"], where
    assert errors(narrow) == []


NBCONVERT_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
/* the layout of JupyterLab's output area, as nbconvert's lab template exports it */
body {{ margin: 0; font-family: sans-serif; }}
.jp-Notebook {{ padding: 24px 4px 0 4px; }}
.jp-Cell {{ padding: 5px; margin: 0; }}
.jp-OutputArea-child {{ display: flex; flex-direction: row; }}
.jp-OutputPrompt {{ flex: 0 0 64px; width: 64px; font-family: monospace; }}
.jp-OutputArea-output {{ height: auto; overflow: auto; user-select: text; flex-grow: 1;
                        flex-shrink: 1; }}
</style></head><body><main class="jp-Notebook">{cells}</main></body></html>
"""

NBCONVERT_OUTPUT = """<div class="jp-Cell jp-CodeCell"><div class="jp-OutputArea">
<div class="jp-OutputArea-child"><div class="jp-OutputPrompt">Out[{n}]:</div>
<div class="{kind} jp-OutputArea-output" data-mime-type="{mime}">{data}</div></div></div></div>
"""


def nbconvert_cell(picture: Any, n: int) -> str:
    """One output as nbconvert's HTML export embeds it: the richest format Jupyter was given,
    in nbconvert's order of preference, HTML before SVG before PNG before text."""
    from IPython.core.formatters import DisplayFormatter

    bundle, _ = DisplayFormatter().format(picture)
    for mime, kind in (("text/html", "jp-RenderedHTMLCommon jp-RenderedHTML"),
                       ("image/svg+xml", "jp-RenderedSVG")):
        if mime in bundle:
            return NBCONVERT_OUTPUT.format(n=n, kind=kind, mime=mime, data=bundle[mime])
    raise AssertionError(f"no HTML or SVG in {sorted(bundle)}")


def test_jupyter_pictures_fit_a_notebook_cell_as_nbconvert_exports_them(
    narrow: webdriver.Chrome, tmp_path: Path
) -> None:
    """draw_graph and BackwardStep.draw of wide graphs, as an nbconvert export of a notebook
    shows them: each fits its output area at 1,000 pixels, keeps its proportions, and has an
    accessible name; a narrow one shows at its actual size, with legible edge labels."""
    from autodiff import backward_steps, draw_graph

    model = MLP(2, [3, 3, 1], activation="tanh", seed=0)
    score = model([Value(1.0, label="x1"), Value(0.0, label="x2")])
    C = book_network()
    steps = list(backward_steps(C))
    pictures = [draw_graph(score, group="labels", show_grad=False), draw_graph(C),
                steps[3].draw(), steps[3].draw(rankdir="TB", caption=False)]
    page = tmp_path / "export.html"
    page.write_text(NBCONVERT_PAGE.format(
        cells="".join(nbconvert_cell(p, n) for n, p in enumerate(pictures, 1))))
    narrow.get(page.resolve().as_uri())
    shown = narrow.execute_script("""
        return Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(function (out) {
          const svg = out.querySelector('svg'), r = svg.getBoundingClientRect();
          const o = out.getBoundingClientRect(), box = svg.viewBox.baseVal;
          const edges = Array.from(svg.querySelectorAll('g.edge text'));
          return {width: r.width, height: r.height, room: out.clientWidth, right: o.right - r.right,
                  scroll: out.scrollWidth - out.clientWidth, ratio: box.width / box.height,
                  drawn: svg.width.baseVal.value, name: svg.getAttribute('aria-label'),
                  role: svg.getAttribute('role'),
                  smallest: Math.min.apply(null, edges.map(function (t) {
                    return t.getBoundingClientRect().height; }))};
        });""")
    assert narrow.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert len(shown) == 4
    for picture, fit in zip(pictures, shown):
        assert fit["width"] <= fit["room"] + 0.5 and fit["right"] >= -0.5 and fit["scroll"] <= 0, fit
        assert abs(fit["width"] / fit["height"] - fit["ratio"]) < 0.02 * fit["ratio"], fit
        assert fit["role"] == "img" and fit["name"] == picture.alt
    wide = shown[:3]
    assert all(fit["width"] > 0.9 * fit["room"] for fit in wide)  # shrunk to the cell's width
    tall = shown[3]
    assert tall["width"] < tall["room"] and abs(tall["width"] - tall["drawn"]) < 1  # actual size
    assert tall["smallest"] >= 12, tall  # edge labels: 10 points are 13 pixels at actual size
    assert errors(narrow) == []


EXPORTED = ("01_a_network_is_a_chain_of_functions", "02_gradient_descent", "03_backprop_by_hand")
"""Notebooks whose graph pictures were cut off in nbconvert's HTML export (a cell 1,680 px wide in
01, 1,965 px in 02) or whose step-through page scrolled (03)."""


@pytest.mark.slow
@pytest.mark.parametrize("stem", EXPORTED)
def test_every_picture_of_a_notebook_fits_its_html_export(
    narrow: webdriver.Chrome, tmp_path: Path, stem: str
) -> None:
    """The notebook run top to bottom and exported by nbconvert (its "lab" template, as
    ``jupyter nbconvert --to html`` does), opened at 1,000 pixels: no picture is wider than its
    output area, and the page does not scroll sideways."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from test_notebooks import NOTEBOOKS, _kernel_manager

    notebook = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    work = tmp_path / "work"
    work.mkdir()
    NotebookClient(notebook, km=_kernel_manager(tmp_path / "kernels"), timeout=120,
                   resources={"metadata": {"path": str(work)}}).execute()
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    page = tmp_path / f"{stem}.html"
    page.write_text(html, encoding="utf-8")
    narrow.get(page.resolve().as_uri())
    pictures = narrow.execute_script("""
        return Array.from(document.querySelectorAll(
            '.jp-OutputArea-output img, .jp-OutputArea-output > svg, .jp-OutputArea-output iframe'
        )).map(function (el) {
          const r = el.getBoundingClientRect();
          const o = el.closest('.jp-OutputArea-output').getBoundingClientRect();
          return {tag: el.tagName, width: r.width, room: o.width, right: o.right - r.right,
                  left: r.left - o.left};
        });""")
    assert len(pictures) >= 3, pictures
    for fit in pictures:
        assert fit["width"] <= fit["room"] + 0.5 and fit["right"] >= -0.5 and fit["left"] >= -0.5, fit
    assert narrow.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
