"""The static site, opened in headless Chromium: every chapter renders with its figures and widgets.

The site is built from the committed notebooks (``python -m fusionlib.book --no-execute``), so this
checks what would be published. Skips with a reason where Chromium or npm is missing.

The widget tests drive Debian's ``chromium`` through its ``chromium-driver`` with Selenium (no browser is
downloaded): on every page with a ``fusionlib.widgets`` explorer they move each slider and dropdown as a
reader would and check that the shown image and table are that state's precomputed content (read from
the page's saved widget state), and on every page that the console has no error and that nothing is
requested from the network.
"""
from __future__ import annotations

import base64
import html as html_lib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fusionlib import book

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                None)
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--virtual-time-budget=15000"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Path:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the widget JavaScript cannot be vendored")
    run = subprocess.run([sys.executable, "-m", "fusionlib.book", "--no-execute"], cwd=REPO,
                         capture_output=True, text=True)
    if run.returncode != 0:
        log = (run.stdout + run.stderr).splitlines()
        warnings = [line for line in log if "WARNING" in line or "ERROR" in line]
        pytest.fail("building the site failed:\n" + "\n".join((warnings or log)[-30:]))
    html = REPO / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


def _dom(page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=120)
    return out.stdout


def _screenshot(page: Path, png: Path) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,2400",
                        f"--screenshot={png}", page.as_uri()], capture_output=True, timeout=120)


CHAPTERS = [c.page for c in book.chapters(REPO)]


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_renders_with_figures(site, page):
    path = site / "book" / f"{page}.html"
    assert path.is_file(), f"{path} not built"
    dom = _dom(path)
    assert "<article" in dom or 'role="main"' in dom, "page did not render"
    images = re.findall(r'<img[^>]+src="[^"]*_images/[^"]+"', dom)
    assert images, f"{page}: no figure on the page"
    assert "Traceback (most recent call last)" not in dom, f"{page}: an error is shown"
    _screenshot(path, REPO / "_build" / "screenshots" / f"{page}.png")


def test_widgets_render_offline(site):
    """At least one chapter shows a live widget built from its saved state, without any CDN."""
    found = []
    for page in CHAPTERS:
        dom = _dom(site / "book" / f"{page}.html")
        if re.search(r'class="[^"]*jupyter-widgets[^"]*widget-', dom):
            found.append(page)
    assert found, "no chapter rendered a widget"
    assert (site / "_static" / "widgets" / "embed-amd.js").is_file()
    index = (site / "book" / f"{found[0]}.html").read_text()
    assert "cdn.jsdelivr" not in index and "cdnjs.cloudflare" not in index, "the page loads JavaScript from a CDN"
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


def test_intro_renders(site):
    dom = _dom(site / "book" / "intro.html")
    assert "fusionbook" in dom and "Running the book" in dom and "Pointing the book at real data" in dom


# ------------------------------------------------------------------------ widgets, driven as a reader would

STATE_SCRIPT = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _saved_states(page_html: str) -> dict[str, list[tuple[str, str]]]:
    """caption text -> [("image", base64) | ("html", text)] of every state the page embeds."""
    m = STATE_SCRIPT.search(page_html)
    if not m:
        return {}
    models = json.loads(m.group(1))["state"]

    def ref(r: str) -> dict:
        return models[r[len("IPY_MODEL_"):]]
    out = {}
    for model in models.values():
        if "fl-state" not in (model["state"].get("_dom_classes") or []):
            continue
        cap, body = (ref(r) for r in model["state"]["children"])
        panels = []
        for r in body["state"]["children"]:
            p = ref(r)
            if p["model_name"] == "ImageModel":
                panels.append(("image", p["buffers"][0]["data"]))
            else:
                panels.append(("html", _text(p["state"]["value"])))
        out[_text(cap["state"]["value"])] = panels
    return out


@pytest.fixture(scope="module")
def browser(site):
    if CHROMEDRIVER is None:
        pytest.skip("chromium-driver is not installed (Debian: apt-get install chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (test extra)")
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _open(driver, path: Path) -> None:
    """Load a page and wait until the widget manager has rendered every saved widget view."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri())
    n_views = path.read_text().count("application/vnd.jupyter.widget-view+json")
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    if n_views:
        WebDriverWait(driver, 90).until(lambda d: d.execute_script(
            "return document.querySelectorAll('.jupyter-widgets.widget-box, .jupyter-widgets.widget-inline-hbox,"
            " .jupyter-widgets.widget-html').length") > 0)


def _problems(driver) -> tuple[list[str], list[str]]:
    """(console errors, network requests that are not local files)"""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    remote = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith(("file:", "data:", "blob:", "about:")):
                remote.append(url)
    return errors, remote


SHOWN_JS = """
const root = arguments[0], done = arguments[arguments.length - 1];
const vis = Array.from(root.querySelectorAll('.fl-state')).filter(e => e.offsetParent !== null);
if (vis.length !== 1) { done({n: vis.length}); return; }
const el = vis[0];
const label = el.querySelector('.fl-state-label');
const imgs = Array.from(el.querySelectorAll('img'));
const htmls = Array.from(el.querySelectorAll('.widget-html-content')).filter(h => !h.querySelector('.fl-state-label'));
Promise.all(imgs.map(i => fetch(i.src).then(r => r.arrayBuffer()).then(b => {
  const u = new Uint8Array(b); let s = '';
  for (let k = 0; k < u.length; k += 0x8000) s += String.fromCharCode.apply(null, u.subarray(k, k + 0x8000));
  return btoa(s);
}))).then(data => done({n: 1, caption: label ? label.textContent : null, images: data,
                        htmls: htmls.map(h => h.textContent)}));
"""


def _shown(driver, explorer) -> dict:
    return driver.execute_async_script(SHOWN_JS, explorer)


def _visible(elements):
    return [e for e in elements if e.is_displayed()]


def _move(driver, control) -> str:
    """Move a control to another value as a reader would; returns the label it now shows."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    selects = control.find_elements("css selector", "select")
    if selects:
        sel = Select(selects[0])
        now = [o.text for o in sel.options].index(sel.first_selected_option.text)
        sel.select_by_index((now + 1) % len(sel.options))
        return sel.first_selected_option.text
    handle = control.find_element("css selector", ".noUi-handle")
    readout = control.find_element("css selector", ".widget-readout")
    before = readout.text
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    if readout.text == before:                       # at the right end: step left instead
        handle.send_keys(Keys.ARROW_LEFT)
        handle.send_keys(Keys.ARROW_LEFT)
    return readout.text


def _check_state(shown: dict, saved: dict, page: str) -> None:
    assert shown["n"] == 1, f"{page}: {shown['n']} states visible at once"
    caption = " ".join(shown["caption"].split())
    assert caption in saved, f"{page}: the page shows a state it does not embed: {caption!r}"
    want = saved[caption]
    assert shown["images"] == [p for k, p in want if k == "image"], f"{page}: wrong image for {caption!r}"
    squash = lambda t: "".join(t.split())  # noqa: E731  (textContent drops the spaces <br> and cells make)
    assert [squash(t) for t in shown["htmls"]] == [squash(p) for k, p in want if k == "html"], \
        f"{page}: wrong table/HTML for {caption!r}"


def _explorer_pages(site: Path) -> list[str]:
    return [p for p in CHAPTERS if "fl-explorer-static" in (site / "book" / f"{p}.html").read_text()]


def test_widgets_switch_states_offline(site, browser):
    """Every slider and dropdown of every explorer switches to its precomputed state, with no kernel."""
    from selenium.webdriver.support.ui import WebDriverWait
    pages = _explorer_pages(site)
    assert {"02_data", "03_metrics", "04_classical"} <= set(pages), pages
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    report = []
    for page in pages:
        path = site / "book" / f"{page}.html"
        saved = _saved_states(path.read_text())
        _open(browser, path)
        explorers = browser.find_elements("css selector", ".fl-explorer")
        assert explorers, f"{page}: no explorer rendered"
        moves = 0
        for ex in explorers:
            browser.execute_script("arguments[0].scrollIntoView()", ex)
            varies = ex.find_elements("css selector", ".fl-vary button")
            for v in (varies or [None]):
                if v is not None:
                    v.click()
                for control in _visible(ex.find_elements("css selector", ".fl-control")):
                    before = _shown(browser, ex)
                    _check_state(before, saved, page)
                    if moves == 0:
                        ex.screenshot(str(shots / f"widget-{page}-before.png"))
                    label = _move(browser, control)
                    WebDriverWait(browser, 20).until(lambda d: _shown(d, ex).get("caption") != before["caption"])
                    after = _shown(browser, ex)
                    _check_state(after, saved, page)
                    desc = control.find_element("css selector", "label").text
                    assert f"{desc} = {label}" in " ".join(after["caption"].split()), (page, desc, label, after)
                    changed = after["images"] != before["images"] or after["htmls"] != before["htmls"]
                    assert changed or saved[" ".join(after["caption"].split())] == \
                        saved[" ".join(before["caption"].split())], f"{page}: {desc} moved, nothing changed"
                    if moves == 0:
                        ex.screenshot(str(shots / f"widget-{page}-after.png"))
                    moves += 1
        errors, remote = _problems(browser)
        assert not errors, f"{page}: console errors {errors}"
        assert not remote, f"{page}: network requests {remote}"
        report.append(f"{page}: {len(explorers)} explorer(s), {len(saved)} states, {moves} moves checked")
    print("\n".join(report))


@pytest.mark.parametrize("page", ["intro", *CHAPTERS])
def test_no_console_errors(site, browser, page):
    """No page logs a console error (a failed font or script load included) or asks the network."""
    path = site / "book" / f"{page}.html"
    _open(browser, path)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.fonts.status") == "loaded")
    errors, remote = _problems(browser)
    assert not errors, f"{page}: console errors {errors}"
    assert not remote, f"{page}: network requests {remote}"
