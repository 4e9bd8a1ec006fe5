"""Interactive explorer (ipywidgets) of the object strata behind VC R-CNN's estimate, with a static twin.

The widget only wires drop-downs to :func:`stratum_panel`; the printed book calls the same function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..formatting import number


def stratum_panel(labels: Any, y: str | int, x: str | int, top: int = 10, ax: Any = None) -> Any:
    r"""Bar chart of the strata behind VC R-CNN's :math:`P(Y \mid do(X))`: each stratum's contribution
    (renormalised weight times :math:`P(Y \mid X, z)`) for the largest ``top`` of them, with the number of images
    :math:`\#(X, z)` behind each bar, and both probabilities in a two-line title.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from causal_lessons.datasets import load_coco_labels
    >>> print(stratum_panel(load_coco_labels("train2014"), "sink", "hair drier").get_title())
    P(sink | hair drier) = 0.562
    P(sink | do(hair drier)) = 0.399
    """
    from .cooccurrence import conditional, interventional, stratum_table

    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    title = (f"P({y} | {x}) = {number(conditional(labels, y, x), 3)}\n"
             f"P({y} | do({x})) = {number(interventional(labels, y, x), 3)}")
    return plot_strata(stratum_table(labels, y, x), title, top, ax)


def plot_strata(table: Any, title: str = "", top: int = 10, ax: Any = None) -> Any:
    """Draw a :func:`~causal_lessons.confounders.cooccurrence.stratum_table`: the ``top`` contributions as bars,
    each labelled with its number of images :math:`\\#(X, z)`.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from causal_lessons.confounders.cooccurrence import stratum_table
    >>> ax = plot_strata(stratum_table([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], 1, 0), "x")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['2']
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    needed = {"z", "#(x, z)", "contribution"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns) or table.empty:
        raise ValueError(f"table must be a non-empty stratum_table (columns {sorted(needed)})")
    numbers = table.select_dtypes("number").to_numpy(dtype=float)
    if not np.isfinite(numbers).all() or (numbers < 0).any():
        raise ValueError("table must hold finite, non-negative numbers (counts, probabilities, contributions)")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    shown = table.sort_values("contribution", ascending=False).head(top)[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.5))
    bars = ax.barh([str(z) for z in shown["z"]], shown["contribution"], color="#457b9d")
    ax.bar_label(bars, labels=[f"n={n}" for n in shown["#(x, z)"]], padding=3)
    ax.set_xlim(0, float(shown["contribution"].max()) * 1.3)
    ax.set_xlabel(r"contribution: weight $\times$ P(y | x, z)")
    ax.set_title(title)
    return ax


def stratum_explorer(labels: Any) -> Any:
    """Pick X and Y from drop-downs: both probabilities and each stratum's contribution (Jupyter or Colab).

    Examples
    --------
    >>> import contextlib, io, matplotlib; matplotlib.use("Agg")
    >>> from causal_lessons.datasets import load_coco_labels
    >>> with contextlib.redirect_stdout(io.StringIO()):
    ...     explorer = stratum_explorer(load_coco_labels("val2017"))
    >>> [w.description for w in explorer.children[:2]]
    ['X', 'Y']
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from ..datasets import LabelSet
    from .cooccurrence import as_label_matrix

    matrix = as_label_matrix(labels)
    names = list(labels.names) if isinstance(labels, LabelSet) else list(range(matrix.shape[1]))

    def show(x: str | int, y: str | int) -> None:
        if x == y:
            print("pick two different classes")
            return
        stratum_panel(labels, y, x)
        plt.show()

    def default(name: str, fallback: int) -> str | int:
        return name if name in names else names[fallback]


    return widgets.interactive(
        show,
        x=widgets.Dropdown(options=names, value=default("hair drier", 0), description="X"),
        y=widgets.Dropdown(options=names, value=default("sink", 1), description="Y"),
    )
