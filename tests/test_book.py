"""The book, built once per test run (this executes every notebook, at the quick size), then read as a reader
sees it: each page of the table of contents opened in headless Chromium, with a screenshot saved to
``_build/screenshots/``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def source_of(page: str) -> Path:
    (match,) = [p for p in ROOT.glob(page + ".*") if p.suffix in {".md", ".ipynb"}]
    return match


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("book")
    # The kernels must draw inline as for a reader: conftest's MPLBACKEND=Agg (for in-process tests) would
    # silently drop every figure from the pages.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["CAUSAL_LESSONS_QUICK"] = "1"
    env["CAUSAL_LESSONS_CACHE"] = str(out / "claims-cache")  # each chapter measured once in this build
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output", str(out), "--all",
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed:\n{log[-8000:]}"
    return out / "_build" / "html", log


def test_book_builds_with_zero_warnings(book):
    _, log = book
    warnings = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b:", line)]
    assert not warnings, "\n".join(warnings)
    assert "build succeeded" in log


def test_every_toc_page_is_built(book):
    html, _ = book
    for page in toc_files():
        assert (html / f"{page}.html").is_file(), page


def test_notebooks_in_git_carry_no_outputs():
    import nbformat

    for path in ROOT.glob("**/*.ipynb"):
        if any(part in {".venv", "_build", "dist", ".ipynb_checkpoints"} for part in path.parts):
            continue
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.relative_to(ROOT)} has outputs in cells {dirty}"


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed: `make test` installs them"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    yield drv
    drv.quit()


BROKEN_IMAGES_JS = """
return Array.from(document.images)
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => img.getAttribute('src'));
"""


@pytest.mark.parametrize("page", toc_files())
def test_page_as_a_reader_sees_it(book, browser, page):
    html, _ = book
    browser.set_window_size(1280, 1000)  # measured afresh for each page below
    browser.get((html / f"{page}.html").as_uri())
    browser.execute_script("return document.readyState")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 12_000))  # the whole page in one screenshot
    deadline = time.monotonic() + 15
    while browser.execute_script(BROKEN_IMAGES_JS) and time.monotonic() < deadline:
        time.sleep(0.2)  # images below the first screen decode after the resize
    browser.save_screenshot(str(SCREENSHOTS / (page.replace("/", "__") + ".png")))

    title = browser.find_element("css selector", "article h1").text
    assert title.strip(), f"{page} has no title"
    outputs = " ".join(e.text for e in browser.find_elements("css selector", ".cell_output"))
    assert "Traceback (most recent call last)" not in outputs, f"{page} shows a traceback in a cell's output"
    errors = browser.find_elements("css selector", ".output.traceback, .output.error, div.cell_output .traceback")
    assert not errors, f"{page} shows {len(errors)} error outputs"
    assert browser.execute_script(BROKEN_IMAGES_JS) == [], f"{page} has images that do not load"
    figures = browser.find_elements("css selector", ".cell_output img")
    if "plt.show()" in source_of(page).read_text():
        assert figures, f"{page} draws figures but shows none"
    colab = [a.get_attribute("href") for a in browser.find_elements("css selector", "a")
             if "colab.research.google.com" in (a.get_attribute("href") or "")]
    if source_of(page).suffix == ".ipynb":
        assert colab and colab[0].endswith(f"/blob/main/{page}.ipynb"), f"{page} lacks its Colab button: {colab}"
    else:
        assert not colab, f"{page} is not a notebook but shows a Colab button"
