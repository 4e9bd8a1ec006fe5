"""The chapter's figures: example images, accuracies over seeds, learning curves and the inferred partition.

Each function draws into new axes of at most :data:`causal_lessons.notebook.WIDTH` inches and returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..notebook import WIDTH
from .coloured_digits import NOISE, ColouredDigits
from .experiment import METHODS

#: One colour per method, in the order of :data:`~causal_lessons.context.experiment.METHODS`.
METHOD_COLOURS = dict(zip(METHODS, ("#d62828", "#1d3557", "#2a9d8f", "#e9a23b", "#7f7f7f"), strict=True))
#: Colours of "colour agrees with the label" (True) and "disagrees" (False) in the partition picture.
AGREE_COLOURS = {True: "#457b9d", False: "#e76f51"}


def _rgb(images: torch.Tensor) -> np.ndarray:
    """(n, 2, H, W) red-green images as (n, H, W, 3) RGB arrays."""
    rgb = torch.cat([images, torch.zeros_like(images[:, :1])], 1)
    return rgb.clamp(0, 1).permute(0, 2, 3, 1).numpy()


def show_examples(data: ColouredDigits, n: int = 6, names: Sequence[str] | None = None) -> Figure:
    """The first ``n`` images of each training environment and of the test set, with their (noisy) labels.

    ``names`` labels the rows (default: "train 1", "train 2", ..., "test").

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> len(show_examples(coloured_digits(), 4).axes)
    12
    """
    if not isinstance(data, ColouredDigits):
        raise TypeError(f"data must be ColouredDigits, got {type(data).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= min(len(e) for e in (*data.train, data.test)):
        raise ValueError(f"n must be an integer between 1 and the size of the smallest environment, got {n!r}")
    envs = [*data.train, data.test]
    if names is None:
        names = [f"train {i + 1}" for i in range(len(data.train))] + ["test"]
    if isinstance(names, str) or len(names) != len(envs) or not all(isinstance(v, str) for v in names):
        raise ValueError(f"names must be {len(envs)} strings, one per row")
    fig, axes = plt.subplots(len(envs), n, figsize=(min(WIDTH, 1.05 * n + 1.2), 1.25 * len(envs)), squeeze=False)
    for row, (env, name) in enumerate(zip(envs, names)):
        images = _rgb(env.images[:n])
        for col in range(n):
            ax = axes[row, col]
            ax.imshow(images[col])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"y = {int(env.y[col])}", fontsize=12)
        axes[row, 0].set_ylabel(name, fontsize=12)
    return fig


def plot_accuracies(accuracies: Mapping[str, Sequence[float]], optimum: float = 1 - NOISE) -> Figure:
    """Reversed-colour test accuracy per method: one dot per seed, the mean as a bar, chance and the best
    invariant accuracy as lines.

    Examples
    --------
    >>> fig = plot_accuracies({"ERM": [0.2, 0.25], "grayscale oracle": [0.7, 0.72]})
    >>> bool(fig.axes[0].get_xlim()[1] >= 0.75)
    True
    """
    if not isinstance(accuracies, Mapping) or not accuracies:
        raise TypeError("accuracies must be a non-empty mapping {method: accuracies over seeds}")
    values = {m: np.asarray(v, dtype=float) for m, v in accuracies.items()}
    if any(v.ndim != 1 or v.size == 0 or not np.all((v >= 0) & (v <= 1)) for v in values.values()):
        raise ValueError("accuracies must map each method to a non-empty sequence of accuracies in [0, 1]")
    fig, ax = plt.subplots(figsize=(WIDTH, 0.7 * len(values) + 1.2))
    names = list(values)
    for i, m in enumerate(names):
        ax.barh(i, values[m].mean(), color=METHOD_COLOURS.get(m, "#999999"), alpha=0.35)
        ax.plot(values[m], np.full(len(values[m]), i), "o", color=METHOD_COLOURS.get(m, "#333333"))
    ax.axvline(0.5, color="black", linestyle=":", linewidth=1.2)
    ax.axvline(optimum, color="black", linestyle="--", linewidth=1.2)
    ax.text(0.5, len(names) - 0.45, " chance", va="bottom", fontsize=12)
    ax.text(optimum, len(names) - 0.45, " 1 - noise", va="bottom", fontsize=12)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("accuracy on the reversed-colour test set")
    return fig


def plot_curves(curves: pd.DataFrame, anneal_step: int | None = None) -> Figure:
    """Learning curves of each method: train (dashed) and test (solid) accuracy, and the IRMv1 penalty.

    Parameters
    ----------
    curves
        Rows of :func:`~causal_lessons.context.training.train`'s curves with a ``method`` column.
    anneal_step
        Drawn as a vertical line: where IRM's penalty weight jumps.

    Examples
    --------
    >>> rows = pd.DataFrame({"step": [0, 1], "train accuracy": [0.5, 0.8], "test accuracy": [0.5, 0.3],
    ...                      "train loss": [0.7, 0.5], "penalty": [1e-3, 1e-2], "method": ["ERM", "ERM"]})
    >>> len(plot_curves(rows, anneal_step=1).axes)
    2
    """
    needed = {"step", "train accuracy", "test accuracy", "penalty", "method"}
    if not isinstance(curves, pd.DataFrame) or not needed <= set(curves.columns) or curves.empty:
        raise ValueError(f"curves must be a non-empty table with columns {sorted(needed)}")
    fig, (acc, pen) = plt.subplots(1, 2, figsize=(WIDTH, 3.6))
    for method, part in curves.groupby("method", sort=False):
        colour = METHOD_COLOURS.get(method, None)
        acc.plot(part["step"], part["test accuracy"], color=colour, label=method)
        acc.plot(part["step"], part["train accuracy"], color=colour, linestyle="--")
        pen.plot(part["step"], part["penalty"].clip(lower=1e-12), color=colour)
    for ax in (acc, pen):
        if anneal_step is not None:
            ax.axvline(anneal_step, color="black", linestyle=":", linewidth=1)
        ax.set_xlabel("step")
    acc.set_ylabel("accuracy")
    acc.set_ylim(0, 1)
    pen.set_yscale("log")
    pen.set_ylabel("IRMv1 penalty (train)")
    fig.legend(*acc.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


def plot_partition(assignment: torch.Tensor, reference_logits: torch.Tensor, y: torch.Tensor,
                   colour_agrees: torch.Tensor) -> Figure:
    """Which training examples environment inference put where, coloured by whether their colour agrees with
    their label: left, each example's weight in environment A against the reference model's margin
    :math:`(2y - 1) z`; right, the two inferred environments' make-up.

    Examples
    --------
    >>> q, z = torch.tensor([0.9, 0.1, 0.2]), torch.tensor([-1.0, 2.0, 1.0])
    >>> y, agrees = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([False, True, True])
    >>> len(plot_partition(q, z, y, agrees).axes)
    2
    """
    tensors = {"assignment": assignment, "reference_logits": reference_logits, "y": y,
               "colour_agrees": colour_agrees}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor) or t.ndim != 1 or len(t) == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor")
        if len(t) != len(assignment):
            raise ValueError(f"{name} must have one entry per example ({len(assignment)}), got {len(t)}")
        if not torch.isfinite(t.double()).all():
            raise ValueError(f"{name} must hold only finite numbers")
    margin = ((2 * y.double() - 1) * reference_logits.double()).numpy()
    q = assignment.double().numpy()
    agrees = colour_agrees.bool().numpy()
    jitter = np.random.default_rng(0).uniform(-0.03, 0.03, len(q))
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), width_ratios=(3, 2))
    for value, label in ((True, "colour agrees with label"), (False, "colour disagrees")):
        mask = agrees == value
        left.scatter(margin[mask], q[mask] + jitter[mask], s=6, alpha=0.5, color=AGREE_COLOURS[value],
                     label=label, rasterized=True)
    left.axvline(0, color="black", linewidth=1, linestyle=":")
    left.set_xlabel("reference margin (2y - 1) z")
    left.set_ylabel("weight in environment A")
    in_a = q > 0.5
    names = ["A", "B"]
    agree_counts = np.array([agrees[in_a].sum(), agrees[~in_a].sum()])
    disagree_counts = np.array([(~agrees[in_a]).sum(), (~agrees[~in_a]).sum()])
    right.bar(names, agree_counts, color=AGREE_COLOURS[True])
    right.bar(names, disagree_counts, bottom=agree_counts, color=AGREE_COLOURS[False])
    right.set_ylabel("training examples")
    right.set_xlabel("inferred environment")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False,
               markerscale=3)
    return fig
