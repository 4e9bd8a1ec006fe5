"""Interactive explorers (ipywidgets) with a static twin for the printed book.

Each explorer draws one panel per setting with a plain function; the widget only wires sliders to it, and the
static figure calls the same function on a grid of settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .estimation import adjusted_effect
from .scm import LinearTriangle


def confounding_panel(confounding: float = 1.0, effect: float = 0.0, n: int = 200, seed: int = 0,
                      ax: Any = None) -> Any:
    r"""Scatter of :math:`N` against :math:`C` in the triangle :math:`G \to C`, :math:`G \to N`, :math:`C \to N`.

    ``confounding`` sets :math:`a = b = \sqrt{\text{confounding}}`; ``effect`` is :math:`\beta`. The panel shows
    the naive regression line and the line with the true causal slope, and both estimates in the title.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> confounding_panel(2.0, 0.0, n=100).get_title().startswith("naive")
    True
    """
    import matplotlib.pyplot as plt

    if confounding < 0:
        raise ValueError(f"confounding must be >= 0, got {confounding}")
    if n < 5:
        raise ValueError(f"n must be at least 5, got {n}")
    a = float(np.sqrt(confounding))
    data = LinearTriangle(a=a, b=a, beta=effect).scm().sample(int(n), seed=seed)
    naive = adjusted_effect(data, "C", "N")
    adjusted = adjusted_effect(data, "C", "N", ["G"])
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.2))
    ax.scatter(data["C"], data["N"], s=8, alpha=0.5, color="#457b9d")
    xs = np.linspace(data["C"].min(), data["C"].max(), 2)
    ax.plot(xs, data["N"].mean() + naive * (xs - data["C"].mean()), color="#e63946", label="naive fit")
    ax.plot(xs, data["N"].mean() + effect * (xs - data["C"].mean()), color="#2a9d8f", ls="--",
            label=r"true effect $\beta$")
    ax.set_xlabel("C (chocolate)")
    ax.set_ylabel("N (Nobel)")
    ax.set_title(f"naive {naive:.2f}, adjusted {adjusted:.2f}, true {effect:.2f}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def confounding_explorer() -> Any:
    """Sliders for confounding strength, causal effect and sample size (Jupyter or Colab).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # the widget draws once on creation
    ...     explorer = confounding_explorer()
    >>> [w.description for w in explorer.children[:3]]
    ['confounding', 'effect β', 'n']
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(confounding: float, effect: float, n: int) -> None:
        confounding_panel(confounding, effect, n)
        plt.show()

    return widgets.interactive(
        show,
        confounding=widgets.FloatSlider(value=2.0, min=0.0, max=4.0, step=0.25, description="confounding"),
        effect=widgets.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.1, description="effect β"),
        n=widgets.IntSlider(value=23, min=10, max=2000, step=10, description="n"),
    )


def confounding_grid(confoundings: tuple[float, ...] = (0.0, 1.0, 4.0),
                     effects: tuple[float, ...] = (0.0, 0.5), n: int = 200) -> Any:
    """The static twin of :func:`confounding_explorer`: one panel per (effect, confounding) pair.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> confounding_grid((0.0, 1.0), (0.0,), n=50).axes.__len__()
    2
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(effects), len(confoundings), figsize=(3.6 * len(confoundings), 3.0 * len(effects)),
                             squeeze=False, sharex=False)
    for i, effect in enumerate(effects):
        for j, conf in enumerate(confoundings):
            confounding_panel(conf, effect, n, seed=i * 10 + j, ax=axes[i, j])
    fig.tight_layout()
    return fig
