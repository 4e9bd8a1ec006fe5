"""Read (and so execute) the pages in the order of the table of contents, not alphabetically.

Sphinx reads documents in sorted order, which would execute the appendix "What holds up" before the chapters
whose measurements it gathers. In the reader's order, each chapter computes its measurements once and the
appendix finds them in the per-build cache (``causal_lessons.claims.cached``); the build report comes last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


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


def _order(app: Any, env: Any, docnames: list[str]) -> None:
    toc = Path(app.srcdir) / "_toc.yml"
    if not toc.is_file():  # a single page built on its own (jupyter-book build book/<slug>/lab.ipynb)
        return
    position = {name: i for i, name in enumerate(toc_docnames(toc))}
    docnames.sort(key=lambda name: (position.get(name, len(position)), name))


def setup(app: Any) -> dict:
    app.connect("env-before-read-docs", _order)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
