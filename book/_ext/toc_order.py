"""Read (and so execute) the pages in the order of the table of contents, not alphabetically.

Sphinx reads documents in sorted order, which would execute the appendix "What holds up" before the chapters
whose measurements it gathers. In the reader's order, each chapter computes its measurements once and the
appendix finds them in the per-build cache (``causal_lessons.claims.cached``); the build report comes last.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_docnames(toc_file: Path) -> list[str]:
    """Document names in the order ``_toc.yml`` lists them."""
    toc = yaml.safe_load(toc_file.read_text())
    names = [toc["root"]]

    def walk(entries: Any) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return names


def source_of(docname: str, root: Path = ROOT) -> Path:
    """The source file of a page: ``<docname>.md`` or ``<docname>.ipynb``."""
    found = [p for p in (root / f"{docname}.md", root / f"{docname}.ipynb") if p.is_file()]
    if len(found) != 1:
        raise FileNotFoundError(f"{docname} needs exactly one source (.md or .ipynb), found {found}")
    return found[0]


def is_notebook(path: Path) -> bool:
    """Whether the book builder executes a page's code: an ``.ipynb`` file, or MyST markdown whose front matter
    names a kernel (``kernelspec``) or a jupytext format."""
    if path.suffix == ".ipynb":
        return True
    text = path.read_text()
    if not text.startswith("---"):
        return False
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    return "kernelspec" in front or "jupytext" in front


def executed_docnames(root: Path = ROOT) -> list[str]:
    """Pages the book build executes, in the order of ``_toc.yml``: notebooks that no pattern of
    ``execute.exclude_patterns`` in ``_config.yml`` excludes (matched as myst-nb matches them)."""
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    excluded = (config.get("execute") or {}).get("exclude_patterns") or []
    out = []
    for name in toc_docnames(root / "_toc.yml"):
        path = source_of(name, root)
        if is_notebook(path) and not any(PurePosixPath(path.as_posix()).match(p) for p in excluded):
            out.append(name)
    return out


def _order(app: Any, env: Any, docnames: list[str]) -> None:
    toc = Path(app.srcdir) / "_toc.yml"
    if not toc.is_file():  # a single page built on its own (jupyter-book build book/<slug>/lab.ipynb)
        return
    position = {name: i for i, name in enumerate(toc_docnames(toc))}
    docnames.sort(key=lambda name: (position.get(name, len(position)), name))


def setup(app: Any) -> dict:
    app.connect("env-before-read-docs", _order)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
