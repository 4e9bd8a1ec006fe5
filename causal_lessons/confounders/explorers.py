"""Interactive explorer (ipywidgets) of the object strata behind VC R-CNN's estimate, with a static twin.

The widget only wires drop-downs to :func:`stratum_panel`; the printed book calls the same function.
"""

from __future__ import annotations

from typing import Any


def stratum_panel(labels: Any, y: str | int, x: str | int, top: int = 12, ax: Any = None) -> Any:
    r"""Bar chart of the strata behind VC R-CNN's :math:`P(Y \mid do(X))`: each stratum's contribution
    (weight times :math:`P(Y \mid X, z)`), the largest ``top`` of them, with both probabilities in the title.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from causal_lessons.datasets import load_coco_labels
    >>> stratum_panel(load_coco_labels("train2014"), "sink", "hair drier").get_title()
    'P(sink | hair drier) = 0.562, P(sink | do(hair drier)) = 0.399'
    """
    import matplotlib.pyplot as plt

    from .cooccurrence import conditional, interventional, stratum_table

    table = stratum_table(labels, y, x).sort_values("contribution", ascending=False).head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh([str(z) for z in table["z"]][::-1], table["contribution"][::-1], color="#457b9d")
    ax.set_xlabel(r"contribution: weight $\times$ P(y | x, z)")
    name = {"x": x, "y": y}
    ax.set_title(f"P({name['y']} | {name['x']}) = {conditional(labels, y, x):.3f}, "
                 f"P({name['y']} | do({name['x']})) = {interventional(labels, y, x):.3f}")
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

    names = list(labels.names)

    def show(x: str, y: str) -> None:
        if x == y:
            print("pick two different classes")
            return
        stratum_panel(labels, y, x)
        plt.show()

    return widgets.interactive(
        show,
        x=widgets.Dropdown(options=names, value="hair drier" if "hair drier" in names else names[0], description="X"),
        y=widgets.Dropdown(options=names, value="sink" if "sink" in names else names[1], description="Y"),
    )
