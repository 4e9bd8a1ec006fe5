"""The sizes of chapter 4's page and lab (``book/context/``) and how big its training job is.

Quick: the 1,200 training digits split into two disjoint halves (two environments of 600), a 32-unit MLP, 300
full-batch steps, ten seeds, every seed's models trained together -- under a minute on one CPU core. Full: ten
shifted copies of every digit per environment, ten seeds -- for a GPU -- with Arjovsky et al.'s default 256-unit
MLP and step size 1e-3 but their *tuned* schedule and l2 (501 steps, penalty weight 91,257 from step 190, l2
0.0011). They tuned those by a random search that maximised min(train accuracies, test accuracy), so the full
size's weight rests on the test environment; the quick size's weight (1e5 from step 100) was set by hand, by no
training-only rule. Both sizes also sweep the penalty weight over 1e1 .. 1e6 (1e3 left out for the time budget;
the ``sweep`` field of :class:`causal_lessons.context.experiment.Settings`), and train IRMv1 on the inferred
environments at half, one and one and a half times the annealing step without a fifth of the training examples,
held out for a training-only rule that picks the annealing step (the ``anneal_steps`` and ``holdout`` fields).
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
    >>> settings("quick").steps, settings("smoke").steps, settings("full").hidden, settings("full").size
    (300, 2, 256, 'full')
    """
    size = runtime.size(at)
    return Settings(
        seeds=tuple(runtime.seeds(10, 10, at=size)),
        copies=runtime.pick(1, 10, at=size),
        hidden=runtime.pick(32, 256, at=size),
        steps=runtime.steps(300, 501, at=size),
        anneal_step=runtime.pick(100, 190, at=size),
        penalty_weight=runtime.pick(1e5, 91_257.0, at=size),
        lr=runtime.pick(2e-3, 1e-3, at=size),
        l2=runtime.pick(1e-3, 1.1e-3, at=size),
        infer_steps=runtime.steps(2_000, 10_000, at=size),
        infer_lr=0.01,
        every=runtime.pick(10, 20, at=size),
        sweep=(1e1, 1e2, 1e4, 1e6),
        size=size,
        schedule=runtime.pick("set by hand, with the test accuracy in view",
                              "Arjovsky et al.'s, tuned with the test accuracy in view", at=size),
        anneal_steps=runtime.pick((50, 100, 150), (95, 190, 285), at=size),
        holdout=0.2,
    )


def job(at: str | None = None) -> runtime.Job:
    """What the lab trains at a size: per seed the models of :data:`~causal_lessons.context.experiment.METHODS`,
    IRMv1 on the colour-only reference's partition, at the other weights of the penalty sweep and on the inferred
    environments at every annealing step of the selection; their total steps, and the FLOPs of one full-batch
    step of one model (both environments: the whole training set, counted on the meta device: nothing is
    computed).

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps, j.flops_per_step > 0
    (39000, True)
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

    per_seed = len(METHODS) + len(s.weights) + len(s.anneal_steps)
    seeds = f"{len(s.seeds)} seed{'s' * (len(s.seeds) > 1)}"
    return runtime.Job(f"{per_seed} MLPs ({', '.join(METHODS)}, IRM on the colour-only reference's partition, IRM "
                       f"at {len(s.weights) - 1} more penalty weights, IRM on the inferred environments at "
                       f"{len(s.anneal_steps)} annealing steps) x {seeds}", runtime.size(at),
                       per_seed * s.steps * len(s.seeds), runtime.count_flops(step))
