"""The configuration of chapter 2's lab (``book/confounders/lab.ipynb``): context shortcuts in a CNN.

:func:`settings` gives the lab's sizes at the selected size (or at ``at``); :func:`job` says how big its training
is, for the lab's first cell and the "How to use" page. Both models of the matched comparison (plain and IPW
training) share the architecture, the number of steps and the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import runtime
from .context_shortcut import N_CLASSES, SIZE, SmallCNN, n_parameters


@dataclass(frozen=True)
class LabSettings:
    """The lab's sizes at one size of the book.

    Attributes
    ----------
    size
        ``"quick"``, ``"full"`` or ``"smoke"``.
    n_train, n_test
        Training images, and images in each test set (confounded and intervened).
    bias
        :math:`P(z = y)` in training and in the confounded test set.
    steps, batch_size, lr
        Optimisation steps of each training run, its minibatch size and Adam's learning rate.
    channels
        Width of :class:`~causal_lessons.confounders.context_shortcut.SmallCNN`.
    seeds
        The seeds each method is trained with.
    """

    size: str
    n_train: int
    n_test: int
    bias: float
    steps: int
    batch_size: int
    lr: float
    channels: int
    seeds: tuple[int, ...]


def _size(at: str | None) -> str:
    if at is not None and not isinstance(at, str):
        raise TypeError(f"at must be a size name {runtime.SIZES} or None, got {type(at).__name__}")
    if at is not None and at not in runtime.SIZES:
        raise ValueError(f"at must be one of {runtime.SIZES} or None, got {at!r}")
    return runtime.size(at)


def settings(at: str | None = None) -> LabSettings:
    """The lab's sizes: at the quick size a CPU runs it in well under the book's 45 s per notebook; the full size
    (a GPU) has more images, a wider network, batches that fill a GPU and more seeds; smoke keeps the full shapes
    with two steps per training run.

    Examples
    --------
    >>> s = settings("quick")
    >>> s.n_train, s.steps, s.batch_size, len(s.seeds)
    (3000, 300, 32, 3)
    >>> settings("smoke").steps, settings("smoke").channels == settings("full").channels
    (2, True)
    """
    size = _size(at)
    return LabSettings(
        size=size,
        n_train=runtime.pick(3_000, 50_000, at=size),
        n_test=runtime.pick(2_000, 20_000, at=size),
        bias=0.9,
        steps=runtime.steps(300, 2_000, at=size),
        batch_size=runtime.pick(32, 2_048, at=size),
        lr=3e-3,
        channels=runtime.pick(16, 64, at=size),
        seeds=tuple(runtime.seeds(3, 5, at=size)),
    )


def job(at: str | None = None) -> runtime.Job:
    """How big the lab's training is: both methods over every seed, and the FLOPs of one training step (forward
    and backward at the lab's batch size), counted on the meta device (no real computation).

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps, j.flops_per_step > 0
    (1800, True)
    >>> print(job("smoke"))  # doctest: +ELLIPSIS
    SmallCNN (...), plain and IPW, 1 seed at the smoke size: 4 training steps, ...
    """
    s = settings(at)
    with torch.device("meta"):
        model = SmallCNN(s.channels)
        images = torch.zeros(s.batch_size, 3, SIZE, SIZE)
        labels = torch.zeros(s.batch_size, dtype=torch.long)
    flops = runtime.count_flops(lambda: F.cross_entropy(model(images), labels).backward())
    name = (f"SmallCNN ({n_parameters(model):,} parameters, {N_CLASSES} classes), plain and IPW, "
            f"{len(s.seeds)} seed{'s' if len(s.seeds) > 1 else ''}")
    return runtime.Job(name, s.size, 2 * len(s.seeds) * s.steps, flops)
