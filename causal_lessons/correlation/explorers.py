"""Interactive explorers (ipywidgets) with a static twin for the printed book.

Each explorer draws one panel per setting with a plain function; the widget only wires sliders to it, and the
static figure calls the same function on a grid of settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_positive_int
from ..formatting import constant, number
from .estimation import adjusted_effect
from .scm import LinearTriangle


def _check(confounding: Any, effect: Any, n: Any) -> tuple[float, float, int]:
    for name, value in (("confounding", confounding), ("effect", effect)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if confounding < 0:
        raise ValueError(f"confounding must be >= 0, got {confounding}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 5:
        raise ValueError(f"n must be at least 5, got {n}")
    return float(confounding), float(effect), int(n)


def confounding_panel(confounding: float = 1.0, effect: float = 0.0, n: int = 200, seed: int = 0,
                      ax: Any = None, legend: bool = True) -> Any:
    r"""Scatter of :math:`N` against :math:`C` in the triangle :math:`G \to C`, :math:`G \to N`, :math:`C \to N`.

    ``confounding`` sets :math:`a = b = \sqrt{\text{confounding}}`; ``effect`` is :math:`\beta`. The panel shows
    the naive regression line and the line with the true causal slope; its corner reads the naive and the
    adjusted estimate, its title the setting.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> confounding_panel(2.0, 0.0, n=100).get_title()
    'a² = 2, β = 0'
    """
    import matplotlib.pyplot as plt

    confounding, effect, n = _check(confounding, effect, n)
    seed = check_positive_int(seed, "seed", minimum=0)
    a = float(np.sqrt(confounding))
    data = LinearTriangle(a=a, b=a, beta=effect).scm().sample(n, seed=seed)
    naive = adjusted_effect(data, "C", "N")
    adjusted = adjusted_effect(data, "C", "N", ["G"])
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(data["C"], data["N"], s=6, alpha=0.4, color="#457b9d")
    xs = np.linspace(data["C"].min(), data["C"].max(), 2)
    ax.plot(xs, data["N"].mean() + naive * (xs - data["C"].mean()), color="#e63946", lw=2.5, label="naive fit")
    ax.plot(xs, data["N"].mean() + effect * (xs - data["C"].mean()), color="#2a9d8f", lw=2.5, ls="--",
            label=r"true effect $\beta$")
    ax.set_title(f"a² = {constant(confounding)}, β = {constant(effect)}")
    ax.text(0.03, 0.97, f"naive {number(naive, 2)}\nadjusted {number(adjusted, 2)}", transform=ax.transAxes, va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        ax.set_xlabel("C (chocolate)")
        ax.set_ylabel("N (Nobel)")
        ax.legend(loc="lower right")
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
    """The static twin of :func:`confounding_explorer`: one panel per (effect, confounding) pair, at most 7 in
    wide with the book's font sizes; one legend for the figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> confounding_grid((0.0, 1.0), (0.0,), n=50).axes.__len__()
    2
    """
    import matplotlib.pyplot as plt

    for name, values in (("confoundings", confoundings), ("effects", effects)):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
            raise TypeError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(v):
                raise ValueError(f"{name} must hold finite numbers, got {v!r}")
            if name == "confoundings" and v < 0:
                raise ValueError(f"confoundings must be >= 0, got {v}")
    _check(0.0, 0.0, n)
    fig, axes = plt.subplots(len(effects), len(confoundings), squeeze=False,
                             figsize=(min(7.0, 2.3 * len(confoundings)), 2.3 * len(effects) + 0.8))
    for i, effect in enumerate(effects):
        for j, conf in enumerate(confoundings):
            confounding_panel(conf, effect, n, seed=i * 10 + j, ax=axes[i, j], legend=False)
    fig.supxlabel("C (chocolate)")
    fig.supylabel("N (Nobel)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=2, frameon=False)
    return fig
