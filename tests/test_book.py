"""The book, built once per test run (this executes every notebook, at the quick size), then read as a reader
sees it: each page of the table of contents opened in headless Chromium at 1280 px and at 390 px, with a
screenshot of each saved to ``_build/screenshots/``. What is measured on a page is in ``book_pages.py``; the
hand-made page at the end proves that each of those checks fails when it should.

``CAUSAL_LESSONS_BOOK_BUILD=<folder>`` reads a build made earlier by this fixture (the folder it printed) instead of
building again: for re-running the page checks while fixing a page. It is never set by ``make test`` or CI.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import book_pages
import pytest
from book_pages import chapter_slugs, source_of, toc_files

from causal_lessons.runtime import BUDGET_S, KERNEL_ENV, TOLERANCE

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
from course_repo import repository  # noqa: E402  (book/_ext, put on the path by book_pages)

REUSE_ENV = "CAUSAL_LESSONS_BOOK_BUILD"


@dataclass(frozen=True)
class Build:
    out: Path
    log: str
    returncode: int

    @property
    def html(self) -> Path:
        return self.out / "_build" / "html"

    @property
    def cache(self) -> Path:
        """The per-build claims cache the chapters' measurements were stored in."""
        return self.out / "claims-cache"


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Build:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        out = Path(reuse)
        return Build(out, (out / "build.log").read_text(), int((out / "build.rc").read_text()))
    out = tmp_path_factory.mktemp("book")
    # The kernels must draw inline as for a reader: conftest's MPLBACKEND=Agg (for in-process tests) would
    # silently drop every figure from the pages.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["CAUSAL_LESSONS_QUICK"] = "1"
    env.update({k: env.get(k, v) for k, v in KERNEL_ENV.items()})
    env["CAUSAL_LESSONS_CACHE"] = str(out / "claims-cache")  # each chapter measured once in this build
    start = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output", str(out), "--all",
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env=env, timeout=3600,
    )
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    (out / "build.rc").write_text(str(proc.returncode))
    print(f"\nbook built in {time.monotonic() - start:.0f} s into {out} (reuse: {REUSE_ENV}={out})")
    return Build(out, log, proc.returncode)


#: ipykernel's shutdown race: a kernel told to shut down flushes stderr through a socket already closed and logs the
#: traceback through tornado, after its notebook has run. Only this traceback, in the control handler, is not the
#: book's: any other ERROR or WARNING line fails the build.
KERNEL_SHUTDOWN_RACE = re.compile(
    r"^ERROR:tornado\.general:Uncaught exception in ZMQStream callback\nTraceback \(most recent call last\):\n"
    r"(?: .*\n)*?zmq\.error\.ZMQError: Socket operation on non-socket$", re.M)


def build_warnings(log: str) -> list[str]:
    """The WARNING and ERROR lines of a build log, less the kernels' shutdown race (``KERNEL_SHUTDOWN_RACE``)."""
    log = KERNEL_SHUTDOWN_RACE.sub(lambda m: "" if "process_control" in m.group(0) else m.group(0), log)
    return [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b:", line)]


def test_book_builds_with_zero_warnings(book):
    warnings = build_warnings(book.log)
    assert not warnings, "\n".join(warnings)
    assert book.returncode == 0 and "build succeeded" in book.log, book.log[-8000:]


def test_only_the_kernel_shutdown_race_is_let_through():
    race = """ERROR:tornado.general:Uncaught exception in ZMQStream callback
Traceback (most recent call last):
  File "/x/ipykernel/kernelbase.py", line 408, in process_control
    sys.stderr.flush()
  File "zmq/backend/cython/_zmq.py", line 190, in zmq.backend.cython._zmq._check_rc
zmq.error.ZMQError: Socket operation on non-socket"""
    other = race.replace("process_control", "dispatch_shell")
    sphinx = "/book/x.md:3: WARNING: glue key 'r' not found"
    assert build_warnings(f"start\n{race}\nbuild succeeded") == []
    assert build_warnings(f"{race}\n{sphinx}") == [sphinx]
    assert build_warnings(other) == ["ERROR:tornado.general:Uncaught exception in ZMQStream callback"]


def test_every_toc_page_is_built(book):
    missing = [page for page in toc_files() if not (book.html / f"{page}.html").is_file()]
    assert not missing, f"pages of _toc.yml missing from the build: {missing}"


def test_every_chapter_has_an_exercise_page(book):
    pages = set(toc_files())
    missing = [slug for slug in chapter_slugs() if f"book/{slug}/exercise" not in pages
               or not (book.html / f"book/{slug}/exercise.html").is_file()]
    assert not missing, (f"chapters without a rendered exercise page book/<slug>/exercise in _toc.yml: {missing} "
                         "(exercises/build.py --book writes it)")


def exec_times(report: Path) -> dict[str, tuple[float, bool]]:
    """``{docname: (seconds, succeeded)}`` from the build report's table (``{build-report}``, book/_ext)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(report.read_text(), "html.parser")
    tables = [t for t in soup.find_all("table") if "run time (s)" in t.get_text()]
    assert len(tables) == 1, f"{report.name} has {len(tables)} execution tables"
    header = [th.get_text(strip=True) for th in tables[0].find("thead").find_all("th")]
    doc, runtime, status = header.index("source"), header.index("run time (s)"), header.index("status")
    rows = {}
    for tr in tables[0].find("tbody").find_all("tr"):
        cells = [td.get_text(strip=True) for td in tr.find_all("td")]
        seconds = float("nan") if cells[runtime] == "–" else float(cells[runtime].replace(",", ""))
        rows[cells[doc]] = (seconds, cells[status].startswith("ran"))
    return rows


def over_budget(times: dict[str, tuple[float, bool]], pages: list[str], budget: float = BUDGET_S,
                tolerance: float = TOLERANCE) -> list[str]:
    """Why the executed ``pages`` took longer than ``tolerance`` times the budget, or failed: one sentence each."""
    out = []
    for page in pages:
        if page not in times:
            out.append(f"{page}: not in the build report (not executed?)")
            continue
        seconds, ok = times[page]
        if not ok:
            out.append(f"{page}: execution failed")
        elif not seconds <= tolerance * budget:
            out.append(f"{page}: {seconds:.1f} s > {tolerance} x the {budget} s budget at the quick size")
    return out


#: A tqdm bar saved in a page: its widget model (a frozen "88%" loaded from a CDN) or its text form.
PROGRESS_BAR = re.compile(r"FloatProgressModel|\b\d{1,3}%\|[^|<]{0,80}\| *\d+/\d+")


def test_no_page_shows_a_frozen_progress_bar(book):
    frozen = sorted(str(p.relative_to(book.html)) for p in book.html.rglob("*.html")
                    if PROGRESS_BAR.search(p.read_text(errors="replace")))
    assert not frozen, f"pages with a saved progress bar (runtime.progress, TQDM_DISABLE in the build): {frozen}"


def test_the_progress_bar_check_sees_a_saved_bar():
    assert PROGRESS_BAR.search('training:  88%|████████▊ | 88/100 [00:01<00:00, 60.2it/s]')
    assert PROGRESS_BAR.search('{"model_name": "FloatProgressModel"}')
    assert not PROGRESS_BAR.search("accuracy 88% | error 12%")


def test_every_notebook_runs_within_the_budget(book):
    times = exec_times(book.html / "book" / "appendix" / "build-report.html")
    executed = book_pages.toc_order.executed_docnames(ROOT)
    table = "\n".join(f"  {name}: {s:.1f} s" for name, (s, _) in sorted(times.items(), key=lambda kv: -kv[1][0]))
    problems = over_budget(times, executed)
    assert not problems, "\n".join(problems) + f"\nexecution times (the build report):\n{table}"


def test_the_budget_check_fails_a_slow_notebook(tmp_path):
    report = tmp_path / "build-report.html"
    report.write_text("""<table><thead><tr><th>page</th><th>source</th><th>run time (s)</th><th>status</th></tr>
        </thead><tbody>
        <tr><td>1.1 Lab</td><td>book/a/lab</td><td>120.5</td><td>ran, over the 60 s budget</td></tr>
        <tr><td>2.1 Lab</td><td>book/b/lab</td><td>119.0</td><td>ran, over the 60 s budget</td></tr>
        <tr><td>3.1 Lab</td><td>book/c/lab</td><td>3.0</td><td>failed: NameError</td></tr></tbody></table>""")
    times = exec_times(report)
    assert times["book/a/lab"] == (120.5, True)
    assert over_budget(times, ["book/a/lab", "book/b/lab", "book/c/lab", "book/d/lab"], budget=60) == [
        "book/a/lab: 120.5 s > 2 x the 60 s budget at the quick size", "book/c/lab: execution failed",
        "book/d/lab: not in the build report (not executed?)"]


def page_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(), "html.parser")
    article = soup.find("article") or soup
    return " ".join(article.get_text(" ").split())


@pytest.mark.parametrize("slug", chapter_slugs())
def test_every_claim_row_is_on_its_chapter_page(book, slug, monkeypatch):
    # The rows come from the build's own measurements: the cache the chapter page filled (same size, same code).
    monkeypatch.setenv("CAUSAL_LESSONS_CACHE", str(book.cache))
    rows = importlib.import_module(f"causal_lessons.{slug}.claims").claims()
    text = page_text(book.html / "book" / slug / "index.html")
    missing = [row.measured for row in rows if " ".join(row.measured.split()) not in text]
    assert not missing, f"book/{slug}/index does not show these measurements of its claim rows: {missing}"


@pytest.mark.parametrize("slug", chapter_slugs())
def test_every_claim_rows_evidence_link_lands_on_its_chapter_page(book, slug, monkeypatch):
    from bs4 import BeautifulSoup

    monkeypatch.setenv("CAUSAL_LESSONS_CACHE", str(book.cache))
    rows = importlib.import_module(f"causal_lessons.{slug}.claims").claims()
    soup = BeautifulSoup((book.html / "book" / slug / "index.html").read_text(), "html.parser")
    missing = [row.evidence for row in rows if row.evidence and soup.find(id=row.evidence) is None]
    assert not missing, f"book/{slug}/index has no element with these ids (Claim.evidence): {missing}"


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed: `make browser` installs them"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--force-device-scale-factor=1",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    yield drv
    drv.quit()


NUMBERED = re.compile(r"(\d+(?:\.\d+)*)\. ")


@pytest.mark.parametrize("page", toc_files())
def test_page_as_a_reader_sees_it(book, browser, page):
    path = book.html / f"{page}.html"
    assert path.is_file(), f"{page} was not built"
    url = path.as_uri()
    found = {}
    problems = []
    for width in book_pages.WIDTHS:
        shot = SCREENSHOTS / f"{page.replace('/', '__')}@{width}"
        found[width] = book_pages.measure(browser, url, width, shot)
        problems += book_pages.problems(found[width], width, url)
    wide = found[1280]
    assert wide is not None, f"{page} has no article"
    if not wide["title"]:
        problems.append("no title")

    source = source_of(page)
    if "plt.show()" in source.read_text() and not wide["figures"]:
        problems.append("draws figures but shows none")

    # Navigation: the sidebar numbers every chapter and its sections; a chapter's title carries its number.
    chapters = {f"book/{slug}/" for slug in chapter_slugs()}
    for text, href in wide["sidebar"]:
        target = book_pages.local_file(href)
        rel = target.relative_to(book.html).as_posix() if target and book.html in target.parents else ""
        if any(rel.startswith(prefix) for prefix in chapters) and not NUMBERED.match(text):
            problems.append(f"the sidebar does not number {text!r}")
    if re.fullmatch(r"book/\w+/(index|lab|exercise)", page) and page.split("/")[1] in {s for s in chapter_slugs()}:
        if not wide["title_number"]:
            problems.append(f"the title {wide['title']!r} has no chapter or section number")

    # The front page lists the chapters as the sidebar numbers them, and no others.
    if page == toc_files()[0]:
        sidebar = [[text, href] for text, href in wide["sidebar"] if re.search(r"/book/\w+/index\.html$", href)]
        if wide["chapter_list"] != sidebar:
            problems.append(f"the front page's chapters {wide['chapter_list']} differ from the sidebar's {sidebar}")

    # "chapter N" in prose ({chapter} role) carries the number the sidebar gives that chapter.
    numbers = {href: m.group(1) for text, href in wide["sidebar"] if (m := NUMBERED.match(text))}
    for text, href in wide["chapter_refs"]:
        if text != f"chapter {numbers.get(href)}":
            problems.append(f"{text!r} links {href}, which the sidebar numbers {numbers.get(href)}")

    # "How to use" tabulates every lab's job at the quick and the full size.
    if page == "book/how-to-use":
        sizes = sorted(row[2] for row in wide["lab_jobs"])
        if sizes != sorted(["quick", "full"] * len(chapter_slugs())):
            problems.append(f"the lab job table has sizes {sizes}: one quick and one full row per chapter expected")

    # Colab: a badge under the title of every notebook page (and the launch menu); none elsewhere.
    if source.suffix == ".ipynb":
        expected = repository().colab_url(f"{page}.ipynb")
        if wide["badge"] != expected:
            problems.append(f"the Colab badge points at {wide['badge']!r}, not {expected!r}")
        if wide["colab_links"].count(expected) < 2:
            problems.append("the launch menu (rocket) has no Colab link")
    elif wide["colab_links"]:
        problems.append(f"not a notebook, but shows Colab links {wide['colab_links']}")
    assert not problems, f"{page}:\n" + "\n".join(f"- {p}" for p in problems)


def test_column_holds_a_figure_and_a_code_line(book, browser):
    """At 1280 px the column holds a figure of notebook.WIDTH at 100 dpi and an 88-character line of code."""
    from causal_lessons import notebook

    browser.set_window_size(1280, 1000)
    browser.get((book.html / "book" / "environment-check.html").as_uri())
    column, code_box, line = browser.execute_script("""
        const art = document.querySelector('article.bd-article'), cs = getComputedStyle(art);
        const pre = art.querySelector('.cell_input pre'), ps = getComputedStyle(pre);
        const span = document.createElement('span');
        span.textContent = 'x'.repeat(arguments[0]);
        Object.assign(span.style, {font: ps.font, whiteSpace: 'pre', position: 'absolute'});
        pre.appendChild(span);
        const width = span.getBoundingClientRect().width;
        span.remove();
        return [art.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
                pre.clientWidth - parseFloat(ps.paddingLeft) - parseFloat(ps.paddingRight), width];
    """, book_pages.CODE_CHARS)
    assert column >= notebook.WIDTH * 100, f"the column is {column} px, narrower than a {notebook.WIDTH} in figure"
    assert line <= code_box, f"{book_pages.CODE_CHARS} characters of code take {line} px, the code box {code_box} px"


# ---------------------------------------------------------------------------------------------------------------
# The checks themselves: a hand-made page with one of each fault, and what they must report.

def _fixture_page(folder: Path) -> Path:
    import graphviz
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = folder / "_images"
    images.mkdir(parents=True)
    # The bug: the fork G -> C, G -> N drawn in a vertical line, so G -> N passes behind C.
    line = graphviz.Digraph(engine="neato", graph_attr={"splines": "false"})
    for name, y in (("G", 2), ("C", 1), ("N", 0)):
        line.node(name, pos=f"0,{y}!")
    line.edge("G", "C")
    line.edge("G", "N")
    (images / "fork.svg").write_bytes(line.pipe(format="svg"))
    fig, ax = plt.subplots(figsize=(9, 3), dpi=100)  # 900 px, 1x: wider than the column and not retina
    ax.plot([0, 1], [0, 1])
    fig.savefig(images / "wide.png", dpi=100)  # explicit: the rcParams of other tests do not apply
    plt.close(fig)
    long_code = "result = " + " + ".join(f"value_{i}" for i in range(14))
    page = folder / "page.html"
    page.write_text(f"""<!DOCTYPE html><html><head><style>
        body {{ margin: 0 }} article {{ width: 640px; padding: 0 20px }} pre {{ white-space: pre; overflow-x: auto }}
        .box {{ overflow-x: auto }} img {{ max-width: 100% }}</style></head><body>
        <nav class="bd-docs-nav"><a class="reference internal" href="page.html">Unnumbered</a></nav>
        <article class="bd-article"><section><h1>Fixture</h1>
        <p>The slope is 2.5140741 per unit.</p><p>The gap is -0.000 at this precision.</p>
        <p>A glued phrase <span class="pasted-text" style="font-weight: bold">in bold</span>.</p>
        <div class="cell"><div class="cell_input"><pre>glue("slope", slope)
assert slope > 0
%pip install causal-lessons
{long_code}</pre></div>
        <div class="cell_output"><div class="output"><pre>np.float64(0.028) {"and a printed conclusion " * 6}</pre>
        <img src="_images/wide.png" alt="_images/0d21d07ffb523c0bad6fcf2c22e80ec307b9356a.png">
        <figure><img src="_images/fork.svg" alt="The fork of GDP, chocolate and Nobel prizes">
        <figcaption><p><span class="caption-number">Fig. 1 </span>A fork.</p></figcaption></figure>
        <table><tbody><tr><th>0</th><td>0.1234567</td></tr><tr><th>1</th><td>nan</td></tr></tbody></table>
        </div></div></div>
        <div style="width: 900px">a block wider than the column</div>
        <div class="box"><div style="width: 900px">a wide block that scrolls in its own box</div></div>
        </section></article></body></html>""")
    return page


def test_the_page_checks_catch_each_fault(tmp_path, browser):
    page = _fixture_page(tmp_path)
    found = book_pages.measure(browser, page.as_uri(), 1280)
    report = "\n".join(book_pages.problems(found, 1280, page.as_uri()))
    expected = [
        "0 search boxes are shown, not one",
        "wider than the column (900 px",  # the bare wide block ...
        "a code line is wider than the code box",
        "printed output runs past its box",  # pre without wrapping
        "figure wide.png has no numbered caption",
        "figure wide.png has no real alt text",
        "figure wide.png is not a retina PNG",
        "figure wide.png is shrunk from 900",
        "diagram fork.svg: G->N passes through C",
        "a code cell shows 'glue('",
        "a code cell shows 'pip install'",
        "a code cell shows an assert",
        "the page shows a numpy scalar repr",
        "an unrounded number in the text: 2.5140741",
        "a negative zero in the text: -0.000",
        "a table shows the pandas index 0..1",
        "a table shows an empty value as 'nan'",
        "a table shows an unrounded number: 0.1234567",
        "a glued number or phrase is not in the weight of the text around it",
    ]
    missed = [e for e in expected if e not in report]
    assert not missed, f"the checks missed {missed}; they reported:\n{report}"
    assert "scrolls in its own box" not in report, "a block that scrolls in its own box is not a fault"
    assert "fork.svg has no" not in report, "the captioned diagram with alt text passed those checks"
    at_phone = "\n".join(book_pages.problems(book_pages.measure(browser, page.as_uri(), 390), 390, page.as_uri()))
    assert "the page scrolls sideways" in at_phone, at_phone

    two_searches = tmp_path / "search.html"
    two_searches.write_text(page.read_text().replace(
        "<body>", '<body><button class="search-button-field">Search</button><div class="search-button-field">S</div>'))
    found = book_pages.measure(browser, two_searches.as_uri(), 1280)
    assert "2 search boxes are shown" in "\n".join(book_pages.problems(found, 1280, two_searches.as_uri()))


def test_the_figure_checks_pass_a_good_figure(tmp_path, browser):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (tmp_path / "_images").mkdir()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=200)  # retina: 1200 px drawn at 600 CSS px
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "_images" / "good.png", dpi=200)
    plt.close(fig)
    page = tmp_path / "page.html"
    page.write_text("""<!DOCTYPE html><html><body style="margin:0"><button class="search-button-field">Search</button>
        <article class="bd-article" style="width:760px">
        <h1>Good</h1><div class="cell_output"><figure><img src="_images/good.png" style="width: 600px"
        alt="A rising straight line"><figcaption><span class="caption-number">Fig. 1 </span>A line.</figcaption>
        </figure></div></article></body></html>""")
    assert book_pages.problems(book_pages.measure(browser, page.as_uri(), 1280), 1280, page.as_uri()) == []


def test_screenshots_cover_a_whole_long_page(tmp_path, browser):
    """A page 30,000 px long (longer than any one screenshot) is saved in segments down to its last line."""
    from PIL import Image

    page = tmp_path / "long.html"
    page.write_text("""<!DOCTYPE html><html><body style="margin:0">
        <header class="bd-header" style="position:sticky;top:0;height:60px;background:#eee">header</header>
        <div style="height:30000px;background:#fff"></div>
        <div style="height:200px;background:rgb(255,0,0)">the last line</div></body></html>""")
    browser.set_window_size(1280, 1000)
    browser.get(page.as_uri())
    shots = book_pages.save_screenshots(browser, 1280, tmp_path / "shots" / "long@1280", segment=4000)
    assert [p.name for p in shots][:2] == ["long@1280-01.png", "long@1280-02.png"]
    assert len(shots) >= 30_260 // 4000 + 1, len(shots)
    last = Image.open(shots[-1]).convert("RGB")
    assert (255, 0, 0) in {last.getpixel((640, y)) for y in range(0, last.height, 10)}, "the page's end is not shown"
    first = Image.open(shots[0]).convert("RGB")
    assert (255, 0, 0) not in {first.getpixel((640, y)) for y in range(0, first.height, 10)}
    again = book_pages.save_screenshots(browser, 1280, tmp_path / "shots" / "long@1280", segment=8000)
    assert sorted((tmp_path / "shots").glob("long@1280-*.png")) == again, "an earlier run's segments were left"
