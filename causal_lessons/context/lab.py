"""The sizes of chapter 4's page and lab (``book/context/``) and how big its training job is.

Quick: the 1,200 training digits coloured twice (two environments), a 32-unit MLP, 400 full-batch steps, three
seeds -- well under a minute on two CPU cores. Full: ten shifted copies of every digit per environment, ten seeds
-- for a GPU -- with Arjovsky et al.'s default 256-unit MLP and step size 1e-3 but their *tuned* schedule and l2
(501 steps, penalty weight 91,257 from step 190, l2 0.0011). They tuned those by a random search that maximised
min(train accuracies, test accuracy), so the full size's weight rests on the test environment; the quick size's
weight (1e5 from step 100) was set by hand, by no training-only rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import runtime
from .coloured_digits import N_DIGITS
from .experiment import METHODS, Settings
from .training import MLP


def settings(at: str | None = None) -> Settings:
    """The chapter's sizes at the selected size (or at ``at``: ``"quick"``, ``"full"`` or ``"smoke"``).

    Examples
    --------
    >>> settings("quick").steps, settings("smoke").steps, settings("full").hidden
    (400, 2, 256)
    """
    size = runtime.size(at)
    return Settings(
        seeds=tuple(runtime.seeds(3, 10, at=size)),
        copies=runtime.pick(1, 10, at=size),
        hidden=runtime.pick(32, 256, at=size),
        steps=runtime.steps(400, 501, at=size),
        anneal_step=runtime.pick(100, 190, at=size),
        penalty_weight=runtime.pick(1e5, 91_257.0, at=size),
        lr=runtime.pick(2e-3, 1e-3, at=size),
        l2=runtime.pick(1e-3, 1.1e-3, at=size),
        infer_steps=runtime.steps(2_000, 10_000, at=size),
        infer_lr=0.01,
        every=runtime.pick(10, 20, at=size),
    )


def job(at: str | None = None) -> runtime.Job:
    """What the lab trains at a size: four models per seed, their total steps, and the FLOPs of one full-batch
    step of the largest (two environments of the full training set, counted on the meta device: nothing is computed).

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps, j.flops_per_step > 0
    (4800, True)
    """
    s = settings(at)
    n_train = (N_DIGITS - s.n_test) * s.copies
    with torch.device("meta"):
        model = MLP(s.hidden)
        x = torch.zeros(n_train, 2, 17, 17)
        y = torch.zeros(n_train)

    def step() -> None:
        z = model(x)
        # The penalty adds element-wise work only, which the counter does not count.
        F.binary_cross_entropy_with_logits(z, y).backward()

    flops = 2 * runtime.count_flops(step)  # two environments per step
    return runtime.Job(f"{len(METHODS)} MLPs ({', '.join(METHODS)}) x {len(s.seeds)} seed{'s' * (len(s.seeds) > 1)}", runtime.size(at),
                       len(METHODS) * s.steps * len(s.seeds), flops)
