"""Show launch buttons (Colab) only on pages whose source is an ``.ipynb`` file.

sphinx-book-theme also adds them to MyST-markdown notebook pages, pointing Colab at a ``.md`` file that it
cannot open. The chapter pages are markdown; the labs and the environment check are notebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _drop_launch_buttons(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if doctree is None or Path(app.env.doc2path(pagename)).suffix == ".ipynb":
        return
    buttons = context.get("header_buttons")
    if buttons:
        context["header_buttons"] = [
            b for b in buttons if not any("Launch" in str(x.get("tooltip", "")) for x in b.get("buttons", []))
        ]


def setup(app: Any) -> dict:
    app.connect("html-page-context", _drop_launch_buttons, priority=502)  # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
