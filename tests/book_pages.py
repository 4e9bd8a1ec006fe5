"""Reading a built page as a reader sees it: what ``tests/test_book.py`` measures in headless Chromium.

:func:`measure` loads a page at a window width, waits for the maths and the images, and returns what one script
measured in the page; :func:`problems` turns the measurements into sentences naming what a reader would hit. They
are separate so that the checks can be proven on a small hand-made page (``test_book.py``) as well as run on the
book.

What is checked, and where:

- one search box is shown (at each width);
- nothing in the main column is wider than the column unless it scrolls inside a box of its own (code blocks,
  tables, display equations), and the page never scrolls sideways -- at both widths;
- at 1280 px: no code cell and no display equation needs a scroll bar (code is formatted to 88 characters, long
  equations break with ``aligned``); printed output never needs one (it wraps) at either width;
- every figure sits in a ``figure`` with a numbered caption and has alt text that describes it (not a file name,
  not a hash); a PNG is drawn at twice its CSS width (retina); at 1280 px no figure is shrunk below its natural
  width, so its text keeps at least the body text's size;
- every causal diagram (a graphviz SVG) has every edge clear of the nodes it does not join;
- no plumbing shows: ``glue(``, ``myst_nb``, ``pip install`` or ``assert`` lines in code cells; ``np.float64(``
  (any numpy scalar repr) or ``myst_nb`` in the text or the outputs, ``glue(`` in the outputs; pandas index columns 0, 1, 2, ..., ``nan`` cells
  and unrounded numbers (5 decimals or more) in tables; unrounded numbers and negative zeros ("-0.000") in prose.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from causal_lessons.diagrams import edges_through_nodes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import toc_order  # noqa: E402  (book/_ext is not a package)

#: Widths at which every page is read: a laptop window and a phone.
WIDTHS = (1280, 390)
#: The widest figure the house style allows, in CSS pixels (``notebook.WIDTH`` inches at 100 dpi).
FIGURE_PX = 700
#: The longest code line the house style allows.
CODE_CHARS = 88


def toc_files() -> list[str]:
    """Every page of ``_toc.yml``, in its order."""
    return toc_order.toc_docnames(ROOT / "_toc.yml")


def chapter_slugs() -> list[str]:
    """Slugs of the chapters (``book/<slug>/index``) in the order of ``_toc.yml``."""
    return [m.group(1) for page in toc_files() if (m := re.fullmatch(r"book/(\w+)/index", page))]


def source_of(page: str) -> Path:
    """The source file of a page: ``.md`` or ``.ipynb``."""
    return toc_order.source_of(page, ROOT)


def is_notebook(page: str) -> bool:
    """Whether a page is a notebook (its code cells are executed, unless excluded)."""
    return toc_order.is_notebook(source_of(page))


MEASURE_JS = r"""
const art = document.querySelector('article.bd-article');
if (!art) return null;
const cs = getComputedStyle(art), ar = art.getBoundingClientRect();
const left = ar.left + parseFloat(cs.paddingLeft), right = ar.right - parseFloat(cs.paddingRight);
const text = e => (e.innerText || e.textContent || '').trim().replace(/\s+/g, ' ');
// Cut by code points: a cut through a surrogate pair (MathJax's italic letters) cannot be sent back to Python.
const cut = (s, n) => Array.from(s).slice(0, n).join('');
const describe = el => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (el.classList.length) s += '.' + Array.from(el.classList).slice(0, 3).join('.');
  const t = cut(text(el), 70);
  return t ? `${s} "${t}"` : s;
};
const scrolls = el => /(auto|scroll)/.test(getComputedStyle(el).overflowX);
const longest = el => (el.textContent || '').split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');

const wide = new Set();
for (const el of art.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (!r.width || !r.height || (r.left >= left - 1 && r.right <= right + 1)) continue;
  if (getComputedStyle(el).visibility === 'hidden' || el.closest('mjx-assistive-mml')) continue;
  let p = el.parentElement, boxed = false;
  while (p && p !== art) { if (scrolls(p)) { boxed = true; break; } p = p.parentElement; }
  if (!boxed) wide.add(el);
}
const math = el => {
  try { return cut(MathJax.startup.document.getMathItemsWithin(el)[0].math, 80); }
  catch (e) { return cut(text(el), 80); }
};
const figures = Array.from(art.querySelectorAll('img')).filter(i => !i.closest('.colab-badge')).map(i => {
  const fig = i.closest('figure'), number = fig && fig.querySelector('figcaption .caption-number');
  // The CSS width a retina PNG is drawn at: myst-nb writes it as style="width: ...px", HTML as width="...".
  const css = i.style.width && i.style.width.endsWith('px') ? parseFloat(i.style.width) : i.getAttribute('width');
  return {src: i.getAttribute('src'), alt: i.getAttribute('alt') || '', natural: i.naturalWidth,
          width_attr: css, client: i.clientWidth, loaded: i.complete && i.naturalWidth > 0,
          caption: number ? text(number) : null};
});
const clone = art.cloneNode(true);
clone.querySelectorAll('dl.py, .cell, script, style, mjx-assistive-mml, .headerlink').forEach(e => e.remove());
const badge = document.querySelector('p.colab-badge a');
const viewport = document.documentElement.clientWidth;
const past = new Set(Array.from(document.body.querySelectorAll('*'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > viewport + 1; }));
return {
  column: right - left,
  page_width: document.documentElement.scrollWidth, viewport: viewport,
  past_viewport: Array.from(past).filter(e => !past.has(e.parentElement)).slice(0, 5).map(describe),
  wide: Array.from(wide).filter(el => !wide.has(el.parentElement))
    .map(el => [describe(el), Math.round(el.getBoundingClientRect().width)]),
  input_scroll: Array.from(art.querySelectorAll('.cell_input pre')).filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => cut(longest(e).trim(), 100)),
  output_scroll: Array.from(art.querySelectorAll('.cell_output pre')).filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => cut(longest(e).trim(), 100)),
  math_scroll: Array.from(art.querySelectorAll('mjx-container[display="true"]'))
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(math),
  figures: figures,
  svgs: Array.from(art.querySelectorAll('svg')).filter(s => s.querySelector('g.edge')).map(s => s.outerHTML),
  inputs: Array.from(art.querySelectorAll('.cell_input')).map(e => e.textContent),
  outputs: Array.from(art.querySelectorAll('.cell_output')).map(e => e.textContent),
  prose: clone.textContent,
  paragraphs: Array.from(clone.querySelectorAll('p, li')).map(text),
  tables: Array.from(art.querySelectorAll('.cell_output table')).map(t => ({
    index: Array.from(t.querySelectorAll('tbody tr')).map(r => r.firstElementChild && r.firstElementChild.tagName === 'TH'
      ? text(r.firstElementChild) : null),
    cells: Array.from(t.querySelectorAll('tbody td')).map(text)})),
  errors: art.querySelectorAll('.output.traceback, .output.error').length,
  title: art.querySelector('h1') ? text(art.querySelector('h1')) : '',
  title_number: art.querySelector('h1 .section-number') ? text(art.querySelector('h1 .section-number')) : '',
  sidebar: Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference')).map(a => [text(a), a.href]),
  badge: badge ? badge.href : null,
  search_boxes: Array.from(document.querySelectorAll('.search-button-field, button.search-button'))
    .filter(e => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden').length,
  colab_links: Array.from(document.querySelectorAll('a')).map(a => a.href)
    .filter(h => h.includes('colab.research.google.com')),
  chapter_list: Array.from(document.querySelectorAll('table.chapter-list tbody tr a')).map(a => [text(a), a.href]),
  chapter_refs: Array.from(art.querySelectorAll('a.chapter-ref')).map(a => [text(a), a.href]),
  lab_jobs: Array.from(art.querySelectorAll('table.lab-jobs tbody tr')).map(r => Array.from(r.cells).map(text)),
  bold_glue: Array.from(art.querySelectorAll('span.pasted-text'))
    .filter(e => getComputedStyle(e).fontWeight !== getComputedStyle(e.parentElement).fontWeight)
    .slice(0, 5).map(describe),
};
"""

WAIT_FOR_MATHS_JS = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true), () => done(false));
} else { done(null); }
"""

UNLOADED_IMAGES_JS = "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"


#: Height of one screenshot segment, in CSS pixels; consecutive segments overlap by the sticky header's height, so
#: that no line of the page is hidden under the header in every shot.
SEGMENT_PX = 8_000

#: Images in the viewport that have not loaded yet (lazy images further down load as the page scrolls to them).
VISIBLE_UNLOADED_JS = """
return Array.from(document.images).filter(i => {
  const r = i.getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight && (!i.complete || i.naturalWidth === 0);
}).length"""


def _wait_for_images(browser: Any, script: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while browser.execute_script(script) and time.monotonic() < deadline:
        time.sleep(0.2)


def measure(browser: Any, url: str, width: int, screenshot: Path | None = None) -> dict:
    """Load ``url`` in a window ``width`` px wide, wait for maths and images, and measure the page (see
    ``MEASURE_JS``); when ``screenshot`` is given, save the whole page as screenshots (:func:`save_screenshots`)."""
    browser.set_window_size(width, 1000)
    browser.get(url)
    browser.set_script_timeout(60)
    browser.execute_async_script(WAIT_FOR_MATHS_JS)
    _wait_for_images(browser, UNLOADED_IMAGES_JS)
    found = browser.execute_script(MEASURE_JS)
    if screenshot is not None:
        save_screenshots(browser, width, screenshot)
    return found


def save_screenshots(browser: Any, width: int, stem: Path, segment: int = SEGMENT_PX) -> list[Path]:
    """Screenshot the whole page, top to bottom, in segments ``segment`` px high: ``<stem>-01.png``, ``-02.png``, ...

    The window is ``segment`` px high and scrolls down by ``segment`` less the sticky header's height each time, so
    the segments together show every line of the page, however long. Screenshots of an earlier run under the same
    stem are removed first. Returns the files written, in page order."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    for old in stem.parent.glob(f"{stem.name}-*.png"):
        old.unlink()
    browser.set_window_size(width, segment)
    inner = int(browser.execute_script("return window.innerHeight"))
    header = browser.execute_script(
        "const h = document.querySelector('.bd-header'); return h ? h.getBoundingClientRect().height : 0")
    step = max(1, inner - int(header) - 20)
    files, top = [], 0
    while True:
        browser.execute_script("window.scrollTo(0, arguments[0])", top)
        _wait_for_images(browser, VISIBLE_UNLOADED_JS)
        path = stem.parent / f"{stem.name}-{len(files) + 1:02d}.png"
        browser.save_screenshot(str(path))
        files.append(path)
        height = int(browser.execute_script("return document.documentElement.scrollHeight"))
        if top + inner >= height:
            return files
        top += step


NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|bool|str|complex)\w*\(")
# An integer part of at most three digits: arXiv identifiers (1907.02893) are not measurements.
UNROUNDED = re.compile(r"(?<![\w.])-?\d{1,3}\.\d{5,}(?![\w.])")
#: "-0.000": a number rounded to zero that kept its sign.
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-−]0(?:\.0+)?(?!\d|\.\d)")
PATH_OR_HASH = re.compile(r".*\.(?:png|svg|jpe?g|gif)|.*/.*|[0-9a-f]{12,}", re.I)


def local_file(url: str) -> Path | None:
    """The file a ``file://`` URL names (``None`` for other URLs)."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def problems(found: dict | None, width: int, page_url: str) -> list[str]:
    """What a reader would hit on a page measured at ``width`` px (see the module docstring); empty when nothing."""
    if found is None:
        return ["the page has no article (not a book page?)"]
    out = []
    at = f"at {width} px"
    if found["search_boxes"] != 1:
        out.append(f"{at}: {found['search_boxes']} search boxes are shown, not one")
    if found["page_width"] > found["viewport"] + 1:
        out.append(f"{at}: the page scrolls sideways ({found['page_width']} px wide in a {found['viewport']} px "
                   f"window), past the right edge: {found['past_viewport']}")
    for what, px in found["wide"]:
        out.append(f"{at}: wider than the column ({px} px > {found['column']:.0f} px) and not in a scroll box: {what}")
    for line in found["output_scroll"]:
        out.append(f"{at}: printed output runs past its box instead of wrapping: {line!r}")
    if width >= 1280:
        for line in found["input_scroll"]:
            out.append(f"{at}: a code line is wider than the code box (format to {CODE_CHARS} characters): {line!r}")
        for tex in found["math_scroll"]:
            out.append(f"{at}: a display equation is wider than the column (break it with aligned): {tex!r}")
    if found["errors"]:
        out.append(f"{found['errors']} error outputs are shown")
    for what in found.get("bold_glue", ()):
        out.append(f"{at}: a glued number or phrase is not in the weight of the text around it: {what}")
    for figure in found["figures"]:
        name = figure["src"].rsplit("/", 1)[-1][:24]
        if not figure["loaded"]:
            out.append(f"image {name} does not load")
            continue
        if width < 1280:
            continue  # captions, alt text and sizes are checked once, at the laptop width
        if not figure["caption"]:
            out.append(f"figure {name} has no numbered caption (mystnb figure caption and name)")
        alt = figure["alt"].strip()
        if len(alt.split()) < 2 or PATH_OR_HASH.fullmatch(alt):
            out.append(f"figure {name} has no real alt text (alt = {alt!r}): set mystnb image alt")
        css_width = float(figure["width_attr"]) if figure["width_attr"] else float(figure["natural"])
        if figure["src"].lower().endswith(".png") and figure["natural"] < 1.9 * css_width:
            out.append(f"figure {name} is not a retina PNG ({figure['natural']} px drawn at {css_width:.0f} px)")
        if figure["client"] < css_width - 1:
            out.append(f"{at}: figure {name} is shrunk from {css_width:.0f} to {figure['client']} px: its text "
                       f"gets smaller than the body text (draw it at most {FIGURE_PX} px, notebook.WIDTH)")
        path = local_file(page_url)
        if figure["src"].lower().endswith(".svg") and path is not None:
            svg = (path.parent / unquote(figure["src"])).resolve()
            if svg.is_file() and "graphviz" in (text := svg.read_text(errors="replace"))[:400].lower():
                out += [f"diagram {name}: {problem}" for problem in edges_through_nodes(text)]
    if width < 1280:
        return out  # what follows is the same at every width: checked once
    for svg in found["svgs"]:
        out += [f"inline diagram: {problem}" for problem in edges_through_nodes(svg)]
    for source in found["inputs"]:
        for needle in ("glue(", "myst_nb", "pip install"):
            if needle in source:
                out.append(f"a code cell shows {needle!r} (tag the cell remove-cell): "
                           f"{_line_with(source, needle)!r}")
        for line in source.splitlines():
            if re.match(r"\s*assert\b", line):
                out.append(f"a code cell shows an assert (tag it remove-cell or raise a clear error): {line.strip()!r}")
    outputs = " ".join(found["outputs"])
    for text, pattern, what in ((outputs + " " + found["prose"], NUMPY_REPR, "a numpy scalar repr"),
                                (outputs + " " + found["prose"], re.compile("myst_nb"), "myst_nb"),
                                (outputs, re.compile(r"\bglue\("), "a glue call")):
        for match in pattern.finditer(text):
            out.append(f"the page shows {what}: {text[max(0, match.start() - 40):match.end() + 30]!r}")
    for paragraph in found["paragraphs"]:
        for match in UNROUNDED.finditer(paragraph):
            out.append(f"an unrounded number in the text: {match.group(0)} in {paragraph[:80]!r}")
        for match in NEGATIVE_ZERO.finditer(paragraph):
            out.append(f"a negative zero in the text: {match.group(0)} in {paragraph[:80]!r}")
    for table in found["tables"]:
        index = table["index"]
        if index and all(v is not None for v in index) and index == [str(i) for i in range(len(index))]:
            out.append(f"a table shows the pandas index 0..{len(index) - 1} (hide it: .style.hide(axis='index'))")
        for cell in table["cells"]:
            if cell in {"nan", "NaN", "None", "<NA>"}:
                out.append(f"a table shows an empty value as {cell!r}")
            elif UNROUNDED.fullmatch(cell):
                out.append(f"a table shows an unrounded number: {cell}")
    return out


def _line_with(source: str, needle: str) -> str:
    return next((line.strip() for line in source.splitlines() if needle in line), "")[:100]
