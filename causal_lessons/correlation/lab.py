"""The configuration of chapter 1's lab (``book/correlation/lab.ipynb``): its sizes and how big its training is.

The lab samples the nonlinear world of :func:`~causal_lessons.correlation.neural_adjustment.binary_confounded_scm`
on the device, fits the neural outcome model :class:`~causal_lessons.correlation.neural_adjustment.OutcomeMLP`
once per seed, and compares the backdoor adjustment with naive conditioning and the exact answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import runtime
from .neural_adjustment import OutcomeMLP


@dataclass(frozen=True)
class LabSettings:
    """The lab's sizes at one size of the course (see :func:`settings`).

    Attributes
    ----------
    size
        ``"quick"``, ``"full"`` or ``"smoke"``.
    n_obs
        Observational samples the outcome model learns from.
    n_truth
        Samples of each intervened model :math:`do(X = x)`, the simulated truth.
    steps
        Optimisation steps of one outcome model.
    batch_size
        Minibatch size (large at the full size, to fill a GPU).
    seeds
        The seeds of the outcome model's training (the spread over seeds is reported).
    hidden
        Width of the outcome model's hidden layers.
    confounding
        The strength :math:`\\gamma` of the edge :math:`Z \\to X`.
    """

    size: str
    n_obs: int
    n_truth: int
    steps: int
    batch_size: int
    seeds: tuple[int, ...]
    hidden: int = 64
    confounding: float = 1.5


def settings(at: str | None = None) -> LabSettings:
    """The lab's sizes at the selected size (or at ``at``: ``"quick"``, ``"full"`` or ``"smoke"``).

    Examples
    --------
    >>> s = settings("smoke")
    >>> s.n_obs == settings("full").n_obs, s.steps <= 2, s.seeds
    (True, True, (0,))
    >>> settings("quick").steps
    1500
    """
    return LabSettings(
        size=runtime.size(at),
        n_obs=runtime.pick(20_000, 2_000_000, at),
        n_truth=runtime.pick(200_000, 20_000_000, at),
        steps=runtime.steps(1_500, 4_000, at),
        batch_size=runtime.pick(1_024, 65_536, at),
        seeds=tuple(runtime.seeds(3, 5, at)),
    )


def job(at: str | None = None) -> runtime.Job:
    """How big the lab's training is: total optimisation steps and the FLOPs of one step, counted on the meta
    device (no memory, no computation, any size).

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps, j.flops_per_step > 0
    (4500, True)
    """
    s = settings(at)
    with torch.device("meta"):
        model = OutcomeMLP(n_confounders=1, hidden=s.hidden)
        inputs = torch.zeros(s.batch_size, 2)
        targets = torch.zeros(s.batch_size)
        loss_fn = nn.BCEWithLogitsLoss()
        flops = runtime.count_flops(lambda: loss_fn(model(inputs), targets).backward())
    seeds = f"{len(s.seeds)} seed{'s' if len(s.seeds) != 1 else ''}"
    return runtime.Job(f"outcome MLP (hidden {s.hidden}, batch {s.batch_size:,}) x {seeds}", s.size,
                       s.steps * len(s.seeds), flops)
