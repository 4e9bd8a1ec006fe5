"""What the course's pages need from Sphinx, computed when the book is built rather than typed in.

- **Style** (``book/_static/causal-lessons.css``): a column wide enough for a 7 in figure (``notebook.WIDTH`` at
  100 dpi) and an 88-character code line at 1280 px; outputs wrap; tables and display equations scroll inside their
  own box instead of widening the page.
- **Colab badge**: an "Open in Colab" badge (served with the book, ``book/_static/colab-badge.svg``) under the
  title of every page whose source is a notebook, pointing at the notebook in the course repository.
- ``{chapters}`` **directive**: the front page's table of chapters, numbered as the sidebar numbers them, linked,
  each with the line of the talk it tests. Only chapters that are in ``_toc.yml`` are listed; a chapter of the
  table of contents without a line in the directive is an error.
- ``{chapter}`` **role**: ```{chapter}`confounders``` writes "chapter 2", linked, with the number the sidebar shows.
- ``{lab-jobs}`` **directive**: each lab's training job (``causal_lessons.<slug>.lab.job(at)``) at the quick and the
  full size: steps and floating-point operations, for "How to use".
- ``{build-report}`` **directive**: every executed notebook in the order of ``_toc.yml``, by its number and title,
  with its source, its run time and a status in words (myst-nb's ``nb-exec-table`` sorts by file name and shows
  emoji).
- ``{repo-code}`` **directive**: a code block whose ``{url}``, ``{pip}``, ``{branch}``, ``{colab}``, ``{pages}`` are
  filled in from ``_config.yml``'s ``repository`` (see ``course_repo.py``).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from course_repo import Repository
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole
from toc_order import toc_docnames

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent.parent / "_static"
CHAPTER = re.compile(r"book/(\w+)/index")

#: Sizes tabulated by ``{lab-jobs}``.
JOB_SIZES = ("quick", "full")


def chapter_slugs(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Slugs of the chapters (``book/<slug>/index``) in the order of ``_toc.yml``."""
    return [m.group(1) for name in toc_docnames(toc) if (m := CHAPTER.fullmatch(name))]


def repository_of(app: Any) -> Repository:
    """The course repository as Jupyter Book passed ``_config.yml``'s ``repository`` to the theme."""
    options = app.config.html_theme_options
    colab = (options.get("launch_buttons") or {}).get("colab_url") or Repository.colab
    return Repository(options["repository_url"].rstrip("/"), options.get("repository_branch") or "main",
                      options.get("path_to_docs") or "", colab)


# ---------------------------------------------------------------------------------------------------------------
# Placeholders filled in once every page's section number is known (doctree-resolved).

class chapter_ref(nodes.Inline, nodes.Element):
    """``{chapter}`slug``` until the chapter's number is known."""


class chapter_table(nodes.General, nodes.Element):
    """``{chapters}`` until the chapters' numbers are known; one child per chapter: an inline with its ``slug``
    holding the talk's claim."""


class build_report(nodes.General, nodes.Element):
    """``{build-report}`` until every page has been executed and numbered."""


class job_table(nodes.General, nodes.Element):
    """``{lab-jobs}`` until the chapters' numbers are known; ``rows`` holds ``(slug, name, size, steps,
    FLOP per step, FLOP in all)``."""


def _number(env: Any, docname: str) -> str:
    numbers = env.toc_secnumbers.get(docname, {}).get("")
    if not numbers:
        raise LookupError(f"{docname} has no section number: is its part of _toc.yml `numbered: true`?")
    return ".".join(map(str, numbers))


def _link(app: Any, fromdoc: str, todoc: str, *children: nodes.Node) -> nodes.reference:
    return nodes.reference("", "", *children, internal=True, refuri=app.builder.get_relative_uri(fromdoc, todoc))


def _table(header: list[str], rows: list[list[nodes.Node | str]], classes: list[str]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto", *classes])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    head = nodes.thead()
    group += head
    head += nodes.row("", *(nodes.entry("", nodes.paragraph(text=h)) for h in header))
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph("", "", *([nodes.Text(cell)] if isinstance(cell, str) else [cell])))
        body += row
    return table


class ChapterRole(SphinxRole):
    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        slug = self.text.strip()
        if slug not in chapter_slugs():
            LOGGER.warning(f"{{chapter}} names {slug!r}, which is not a chapter of _toc.yml", location=self.get_location())
        return [chapter_ref(slug=slug)], []


class ChaptersDirective(SphinxDirective):
    """``slug: the talk's claim`` per line of content."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        lines = {}
        for line in self.content:
            if not line.strip():
                continue
            slug, sep, text = line.partition(":")
            if not sep or not text.strip():
                raise self.error(f"each line of {{chapters}} is 'slug: text', got {line!r}")
            lines[slug.strip()] = text.strip()
        rows = []
        for slug in chapter_slugs():
            if slug not in lines:
                LOGGER.warning(f"chapter {slug!r} of _toc.yml has no line in the {{chapters}} table",
                               location=self.get_location())
                continue
            claim, messages = self.state.inline_text(lines[slug], self.lineno)
            rows.append(nodes.inline("", "", *claim, *messages, slug=slug))
        return [chapter_table("", *rows)]


def lab_job_rows(slugs: list[str], package: str = "causal_lessons") -> tuple[list[tuple], list[str]]:
    """``(slug, name, size, steps, FLOP per step, FLOP in all)`` for each chapter's lab at each of
    :data:`JOB_SIZES`, from ``<package>.<slug>.lab.job(at=size)``; and the slugs whose ``lab`` module is missing."""
    rows, missing = [], []
    for slug in slugs:
        try:
            lab = importlib.import_module(f"{package}.{slug}.lab")
        except ModuleNotFoundError as error:
            if error.name != f"{package}.{slug}.lab":
                raise
            missing.append(slug)
            continue
        for size in JOB_SIZES:
            job = lab.job(at=size)
            if job.size != size:
                raise ValueError(f"{package}.{slug}.lab.job(at={size!r}) describes the {job.size!r} size")
            rows.append((slug, job.name, job.size, job.steps, job.flops_per_step, job.total_flops))
    return rows, missing


class LabJobsDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        rows, missing = lab_job_rows(chapter_slugs())
        for slug in missing:
            LOGGER.warning(f"chapter {slug!r} has no causal_lessons/{slug}/lab.py with job(at)",
                           location=self.get_location())
        return [job_table(rows=rows)]


#: Set in myst-nb's per-document data on the page that holds ``{build-report}``, so that it is rewritten whenever
#: a notebook is executed again (as myst-nb does for its own execution table).
BUILD_REPORT_KEY = "has_build_report"


class BuildReportDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from myst_nb.sphinx_ import NbMetadataCollector

        NbMetadataCollector.set_doc_data(self.env, self.env.docname, BUILD_REPORT_KEY, True)
        return [build_report()]


def _pages_with_build_report(app: Any, env: Any) -> list[str] | None:
    from myst_nb.sphinx_ import NbMetadataCollector

    if not NbMetadataCollector.new_exec_data(env):
        return None
    return [name for name, data in NbMetadataCollector.get_doc_data(env).items() if data.get(BUILD_REPORT_KEY)]


def build_report_rows(executed: dict[str, dict], order: list[str], budget: float) -> list[tuple[str, str, str]]:
    """``(docname, run time, status)`` for each executed notebook, in ``order`` (then any others by name).

    ``executed`` maps a docname to myst-nb's execution record (``runtime`` in seconds, ``succeeded``, ``error``).
    The status is ``"ran"``, ``"ran, over the N s budget"`` or ``"failed: <the error's first line>"``.
    """
    from causal_lessons.formatting import number

    names = [n for n in order if n in executed] + sorted(set(executed) - set(order))
    rows = []
    for name in names:
        data = executed[name]
        seconds = data.get("runtime")
        if not data.get("succeeded"):
            error = (data.get("error") or "no error message").strip().splitlines()
            status = f"failed: {error[0] if error else 'no error message'}"
        elif seconds is not None and seconds > budget:
            status = f"ran, over the {number(budget, 0)} s budget"
        else:
            status = "ran"
        rows.append((name, "–" if seconds is None else number(seconds, 1), status))
    return rows


class RepoCodeDirective(SphinxDirective):
    """A literal block with ``{url}``, ``{pip}``, ``{branch}``, ``{slug}``, ``{name}``, ``{colab}`` and ``{pages}``
    filled in."""

    has_content = True
    optional_arguments = 1
    option_spec = {"caption": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        repo = repository_of(self.env.app)
        values = {"url": repo.url, "pip": repo.pip_requirement, "branch": repo.branch, "slug": repo.slug,
                  "name": repo.name, "colab": repo.colab_url(""), "pages": repo.pages_url}
        text = "\n".join(self.content).format(**values)
        block = nodes.literal_block(text, text, language=self.arguments[0] if self.arguments else "text")
        self.set_source_info(block)
        return [block]


def _label(app: Any, target: str, node: nodes.Node) -> str:
    """``"N. Title"`` of a page, or its plain title (with a warning) when it has no number: a page built on its
    own (``jupyter-book build book/intro.md``) has no table of contents to number it."""
    title = app.env.titles[target].astext() if target in app.env.titles else target
    try:
        return f"{_number(app.env, target)}. {title}"
    except LookupError as error:
        LOGGER.warning(str(error), location=node)
        return title


def _resolve(app: Any, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(chapter_ref)):
        target = f"book/{node['slug']}/index"
        try:
            text = f"chapter {_number(app.env, target)}"
        except LookupError as error:
            LOGGER.warning(str(error), location=node)
            text = node["slug"]
        link = _link(app, docname, target, nodes.Text(text))
        link["classes"].append("chapter-ref")
        node.replace_self(link)
    for node in list(doctree.findall(chapter_table)):
        rows = []
        for claim in node.children:
            target = f"book/{claim['slug']}/index"
            rows.append([_link(app, docname, target, nodes.Text(_label(app, target, node))),
                         nodes.inline("", "", *claim.children)])
        node.replace_self(_table(["chapter", "the talk's claim it tests"], rows, ["chapter-list"]))
    for node in list(doctree.findall(build_report)):
        from myst_nb.sphinx_ import NbMetadataCollector

        from causal_lessons.runtime import BUDGET_S

        executed = {name: data["exec_data"] for name, data in NbMetadataCollector.get_doc_data(app.env).items()
                    if data.get("exec_data")}
        rows = []
        for name, seconds, status in build_report_rows(executed, toc_docnames(ROOT / "_toc.yml"), BUDGET_S):
            title = app.env.titles[name].astext() if name in app.env.titles else name
            numbers = app.env.toc_secnumbers.get(name, {}).get("")
            label = f"{'.'.join(map(str, numbers))}. {title}" if numbers else title
            rows.append([_link(app, docname, name, nodes.Text(label)), nodes.literal(text=name), seconds, status])
        node.replace_self(_table(["page", "source", "run time (s)", "status"], rows, ["build-report"]))
    for node in list(doctree.findall(job_table)):
        from causal_lessons.runtime import _si  # the units each lab prints its job in

        rows = []
        for slug, name, size, steps, flops, total in node["rows"]:
            target = f"book/{slug}/lab"
            rows.append([_link(app, docname, target, nodes.Text(_label(app, target, node))), name, size,
                         f"{steps:,}", f"{_si(flops)}FLOP", f"{_si(total)}FLOP"])
        node.replace_self(_table(["lab", "what is trained", "size", "training steps", "FLOP per step",
                                  "FLOP in all"], rows, ["lab-jobs"]))


# ---------------------------------------------------------------------------------------------------------------
# The Colab badge.

def _colab_badge(app: Any, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    section = doctree.next_node(nodes.section)
    if section is None or not isinstance(section[0], nodes.title):
        return
    try:
        path = source.resolve().relative_to(Path(app.srcdir).resolve()).as_posix()
    except ValueError:  # a page built on its own: the source folder is the page's
        path = source.resolve().relative_to(ROOT).as_posix()
    href = repository_of(app).colab_url(path)
    up = "../" * docname.count("/")
    badge = (f'<p class="colab-badge"><a href="{href}" target="_blank" rel="noopener" '
             f'title="Open this notebook in Google Colab"><img src="{up}_static/colab-badge.svg" '
             'alt="Open in Colab" width="117" height="20"></a></p>')
    section.insert(1, nodes.raw("", badge, format="html"))


def _static(app: Any, config: Any) -> None:
    config.html_static_path.append(str(STATIC))


def setup(app: Any) -> dict:
    app.connect("config-inited", _static)
    app.add_css_file("causal-lessons.css")
    app.add_node(chapter_ref)
    app.add_node(chapter_table)
    app.add_node(job_table)
    app.add_node(build_report)
    app.add_role("chapter", ChapterRole())
    app.add_directive("chapters", ChaptersDirective)
    app.add_directive("lab-jobs", LabJobsDirective)
    app.add_directive("repo-code", RepoCodeDirective)
    app.add_directive("build-report", BuildReportDirective)
    app.connect("env-updated", _pages_with_build_report)
    app.connect("doctree-resolved", _resolve)
    app.connect("doctree-resolved", _colab_badge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
