"""The static site, opened in headless Chromium: every chapter renders with its figures and widgets.

The site is built from the committed notebooks (``python -m fusionlib.book --no-execute``), so this
checks what would be published. Skips with a reason where Chromium or npm is missing.
"""
from __future__ import annotations

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
