"""What every notebook of the book uses: the figure style and glue for numbers in prose.

:func:`setup` makes matplotlib figures sharp on high-density screens (retina PNG) with text at least as large as
the book's body text, once the figure is shown at its natural width (at most :data:`WIDTH` inches, the width of
the book's column). :func:`glue` hands a computed value to the book's prose (MyST-NB's ``glue``), so no number
in a sentence is typed in, and writes a number as :mod:`causal_lessons.formatting` does; in Colab or plain
Jupyter, where the book builder is absent, it does nothing.
:func:`key_result` reports the one number that sums a notebook up, for ``bench/full_size.py``.
:func:`exercise_questions` and :func:`prose_words` read the course's own sources for the instructors' teaching plan.
"""

from __future__ import annotations

import json
import math
import os
import re
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from . import runtime
from .formatting import number

#: Widest figure, in inches at 100 dpi: it fits the book's column at a 1280 px window without shrinking (the
#: column holds 753 CSS px there, ``book/_static/causal-lessons.css``; ``tests/test_book.py`` measures it).
WIDTH = 7.0

#: The smallest font size (points) any text in a figure may use: at 100 dpi it is as large as the body text.
MIN_FONT_SIZE = 12

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": MIN_FONT_SIZE,
    "axes.titlesize": MIN_FONT_SIZE + 1,
    "axes.labelsize": MIN_FONT_SIZE,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "figure.titlesize": MIN_FONT_SIZE + 2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.constrained_layout.use": True,
}


def setup(seed: int = 0) -> str:
    """Apply the book's figure style, seed every generator (``seed`` plus
    :func:`causal_lessons.runtime.seed_offset`), set torch's thread count
    (:func:`causal_lessons.runtime.configure_threads`), and describe the size and device.

    Returns
    -------
    str
        :func:`causal_lessons.runtime.describe`'s line, for the notebook to print.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> "size" in setup()
    True
    >>> import matplotlib.pyplot as plt; plt.rcParams["font.size"] >= MIN_FONT_SIZE
    True
    """
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    runtime.configure_threads()
    runtime.seed_everything(seed + runtime.seed_offset())
    return runtime.describe()


def text(value: Any, digits: int | None = None, *, percent: bool = False, width: float | None = None) -> Any:
    """What :func:`glue` gives the prose for ``value``: a real number as
    :func:`causal_lessons.formatting.number` writes it, anything else (a phrase, a figure, a table) as it is.

    Examples
    --------
    >>> text(0.78912), text(0.78912, 2), text(82081), text(0.25, percent=True), text("a phrase")
    ('0.789', '0.79', '82,081', '25.0%', 'a phrase')
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, Real) and not isinstance(value, (bool, np.bool_)):
        return number(value, digits, percent=percent, width=width)
    if digits is not None or percent or width is not None:
        raise TypeError(f"digits, percent and width format a real number; value is a {type(value).__name__}")
    return value


def glue(name: str, value: Any, display: bool = False, *, digits: int | None = None, percent: bool = False,
         width: float | None = None) -> Any:
    """Give ``value`` to the book's prose under ``name`` (``{glue:text}`name``` in MyST); returns ``value``.

    A real number (a Python or numpy scalar, a 0-d tensor) is glued as the text :func:`text` writes for it, with
    ``digits``, ``percent`` and ``width`` passed to :func:`causal_lessons.formatting.number`: the prose never
    formats a number itself (no ``{glue:text}`name:.3f```), so every number in the book is written one way.
    Outside the book build (Colab, Jupyter without MyST-NB) nothing is glued and the value is returned as is.

    Examples
    --------
    >>> glue("answer", 42)
    42
    >>> import numpy as np; glue("share", np.float64(0.25), digits=2)
    np.float64(0.25)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    shown = text(value, digits, percent=percent, width=width)
    _glue(name, shown, display)
    return value


def _glue(name: str, value: Any, display: bool = False) -> None:
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        myst_glue(name, value, display=display)


#: The glue names of a notebook's key result and of what it measures (see :func:`key_result`).
KEY_RESULT, KEY_RESULT_WHAT = "key_result", "key_result_what"


def key_result(what: str, value: float) -> float:
    """Report the notebook's key result: the one number (an accuracy, an error, a perplexity) that sums it up.

    It is glued as ``key_result``, with ``what`` glued as ``key_result_what``; ``bench/full_size.py`` reads both
    from the executed notebook and prints the value at the full size next to the value at the quick size. Every
    chapter page and lab calls it once, in a cell tagged ``remove-cell``.

    Parameters
    ----------
    what
        What the number is, e.g. ``"rotated-test accuracy of the G-CNN"``.
    value
        A finite real number (a Python or numpy scalar, or a 0-d tensor).

    Returns
    -------
    float
        ``value`` as a float.

    Examples
    --------
    >>> key_result("test accuracy of the G-CNN", 0.93)
    0.93
    """
    if not isinstance(what, str) or not what.strip():
        raise TypeError(f"what must be a non-empty string saying what the number is, got {what!r}")
    if isinstance(value, (bool, str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    _glue(KEY_RESULT, value)  # a number, read back by bench/full_size.py
    _glue(KEY_RESULT_WHAT, what.strip())
    return value


#: How otter-grader's master notebooks open a question, and how this course titles one (a bold lead).
_BEGIN_QUESTION = "# BEGIN QUESTION"
_QUESTION_TITLE = re.compile(r"^\*\*Question \d+ \((?P<title>.+?)\)\.?\*\*")


def _existing(path: str | os.PathLike, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} must be an existing file, got {str(path)!r}")
    return path


def exercise_questions(master: str | os.PathLike) -> list[dict[str, Any]]:
    """The graded questions of an otter-grader master notebook, in order: name, points and title.

    Otter opens a question with a raw cell ``# BEGIN QUESTION`` whose YAML gives its ``name`` and ``points``; the
    markdown cell after it states the question, in this course with a bold lead
    ``**Question 3 (adjustment by hand).**`` whose parenthesis is the title (what the question checks).

    Parameters
    ----------
    master
        Path of a master notebook (``exercises/<slug>/<slug>.ipynb``).

    Returns
    -------
    list of dict
        One ``{"name": str, "points": float, "title": str}`` per question.

    Examples
    --------
    >>> import json, tempfile
    >>> cells = [{"cell_type": "raw", "metadata": {}, "source": "# BEGIN QUESTION\\nname: q1\\npoints: 2"},
    ...          {"cell_type": "markdown", "metadata": {}, "source": "**Question 1 (a mean).** Compute it."}]
    >>> with tempfile.NamedTemporaryFile("w", suffix=".ipynb", delete=False) as f:
    ...     json.dump({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f)
    >>> exercise_questions(f.name)
    [{'name': 'q1', 'points': 2.0, 'title': 'a mean'}]
    """
    path = _existing(master, "master")
    try:
        cells = json.loads(path.read_text())["cells"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"master must be a notebook (.ipynb JSON with cells), got {str(path)!r}") from error
    questions = []
    for cell, following in zip(cells, cells[1:] + [None]):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") != "raw" or not source.startswith(_BEGIN_QUESTION):
            continue
        config = dict(re.findall(r"^(name|points):\s*(\S+)\s*$", source, re.M))
        if "name" not in config or "points" not in config:
            raise ValueError(f"master {path.name}: every question needs a name and points, got {config}")
        lead = _QUESTION_TITLE.match("".join(following.get("source", ""))) if following else None
        if lead is None:
            raise ValueError(f"master {path.name}: question {config['name']} needs a bold lead "
                             "'**Question N (title).**' in the markdown cell after its BEGIN QUESTION cell")
        questions.append({"name": str(config["name"]), "points": float(config["points"]),
                          "title": lead["title"]})
    if not questions:
        raise ValueError(f"master {path.name} holds no question (no '{_BEGIN_QUESTION}' raw cell)")
    return questions


def prose_words(page: str | os.PathLike) -> int:
    """Words of prose on a MyST page: what a reader reads, without front matter, code cells and other fenced blocks.

    A word is a run of letters or digits; a glued value (``{glue:text}`name```) counts as one. Dividing by a
    reading speed (about 200 words a minute for technical text) estimates the reading time.

    Parameters
    ----------
    page
        Path of a MyST Markdown page.

    Returns
    -------
    int
        The number of words.

    Examples
    --------
    >>> import tempfile
    >>> text = "---\\nkernelspec: {}\\n---\\n# Title\\n\\n```{code-cell}\\nx = 1\\n```\\nTwo {glue:text}`n` words."
    >>> with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
    ...     _ = f.write(text)
    >>> prose_words(f.name)
    4
    """
    text = _existing(page, "page").read_text()
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"^(`{3,}|:{3,}).*?^\1\s*$", "", text, flags=re.S | re.M)
    text = re.sub(r"\{glue:\w+\}`[^`]*`", "glued", text)
    return len(re.findall(r"\w+", text))
