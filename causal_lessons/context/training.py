r"""One training loop for ERM, IRMv1 and the grayscale oracle: a small MLP on coloured digits, full batch.

The loop is Arjovsky et al.'s (their coloured-MNIST code): in each step, every training environment
:math:`e` gives its mean logistic loss :math:`R_e` and its IRMv1 penalty :math:`P_e`
(:func:`~causal_lessons.context.penalty.irmv1_penalty`), and the model minimises

.. math::

   \begin{aligned}
   L &= \frac{1}{|E|} \sum_e R_e + \lambda_2 \lVert\theta\rVert^2 + \lambda(t)\, \frac{1}{|E|} \sum_e P_e,
   \qquad \lambda(t) = \begin{cases} 1 & t < t_0 \\ \lambda & t \ge t_0 \end{cases}
   \end{aligned}

divided by :math:`\lambda(t)` when it exceeds 1 (so the step size stays comparable). The penalty is switched on
at the *annealing step* :math:`t_0`: before it the model learns by ERM, after it the penalty dominates.
ERM is the same loop with :math:`\lambda = 0`; the grayscale oracle is ERM on images with the colour removed
(:func:`~causal_lessons.context.coloured_digits.remove_colour`), so all models have the same architecture,
the same number of parameters and the same number of steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int
from .coloured_digits import Environment
from .penalty import irmv1_penalty

#: Inputs of the MLP: two colour channels of 17 x 17 pixels, averaged over 2 x 2 blocks to 8 x 8.
N_INPUTS = 2 * 8 * 8


class MLP(nn.Module):
    """Two hidden ReLU layers and one logit on the image averaged over 2 x 2 pixel blocks (Arjovsky et al.'s
    model, who halve MNIST's 28 x 28 to 14 x 14 the same way; our digits are 8 x 8 scans upsampled to 16 x 16,
    so the averaging loses little and makes each step four times cheaper).

    Examples
    --------
    >>> MLP(32)(torch.zeros(5, 2, 17, 17)).shape, n_parameters(MLP(32))
    (torch.Size([5]), 5217)
    """

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        hidden = check_positive_int(hidden, "hidden")
        self.pool = nn.Sequential(nn.AvgPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(N_INPUTS, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1:] != (2, 17, 17):
            raise ValueError(f"images must have shape (n, 2, 17, 17), got "
                             f"{getattr(images, 'shape', type(images).__name__)}")
        return self.head(self.pool(images))[:, 0]


def n_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (models are compared at equal counts).

    Examples
    --------
    >>> n_parameters(nn.Linear(3, 2))
    8
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_envs(envs: Sequence[Environment], name: str) -> list[Environment]:
    if isinstance(envs, Environment) or not isinstance(envs, Sequence) or not envs:
        raise TypeError(f"{name} must be a non-empty sequence of Environment")
    if not all(isinstance(e, Environment) and len(e) > 0 for e in envs):
        raise TypeError(f"{name} must hold non-empty Environment objects")
    return list(envs)


@torch.no_grad()
def _accuracy_of_pooled(model: MLP, pooled: torch.Tensor, y: torch.Tensor) -> float:
    return float(((model.head(pooled)[:, 0] > 0).float() == y).float().mean())


@torch.no_grad()
def accuracy(model: nn.Module, env: Environment) -> float:
    """Share of ``env``'s (noisy) labels that the model's sign of logit gets right.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> 0 <= accuracy(MLP(4), coloured_digits().test) <= 1
    True
    """
    if not isinstance(env, Environment) or len(env) == 0:
        raise TypeError("env must be a non-empty Environment")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    device = next(model.parameters()).device
    model.eval()
    logits = torch.cat([model(x.to(device)) for x in env.images.split(8192)])
    return float(((logits > 0).float() == env.y.to(device)).float().mean())


def train(envs: Sequence[Environment], *, test: Environment | None = None, penalty_weight: float = 0.0,
          anneal_step: int = 0, steps: int = 400, hidden: int = 32, lr: float = 2e-3, l2: float = 1e-3,
          seed: int = 0, every: int = 0, device: torch.device | str = "cpu", progress: bool = False,
          desc: str = "training") -> tuple[MLP, pd.DataFrame]:
    """Train an :class:`MLP` on the environments by the loop of the module docstring (full batch, Adam).

    Parameters
    ----------
    envs
        Training environments (one for plain ERM on pooled data, two or more for IRM).
    test
        Evaluated every ``every`` steps for the learning curves (never trained on).
    penalty_weight
        :math:`\\lambda` after the annealing step; 0 gives ERM.
    anneal_step
        :math:`t_0`: the penalty weight is 1 before it (Arjovsky et al. use 190 of 501 steps).
    steps, hidden, lr, l2, seed
        Optimisation steps, hidden width, Adam's step size, the weight of :math:`\\lVert\\theta\\rVert^2`, and
        the seed of the initialisation.
    every
        Log the curves every ``every`` steps (0: only at the end).
    device
        Where to train; the data is moved there once.
    progress
        Show a progress bar.

    Returns
    -------
    (MLP, pandas.DataFrame)
        The trained model and its learning curves: step, train accuracy (mean over environments), test accuracy,
        train loss :math:`\\frac{1}{|E|}\\sum_e R_e` and penalty :math:`\\frac{1}{|E|}\\sum_e P_e`.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> data = coloured_digits()
    >>> model, curves = train(data.train, test=data.test, steps=2, hidden=4)
    >>> list(curves.columns)
    ['step', 'train accuracy', 'test accuracy', 'train loss', 'penalty']
    """
    envs = _check_envs(envs, "envs")
    if test is not None and not isinstance(test, Environment):
        raise TypeError(f"test must be an Environment or None, got {type(test).__name__}")
    steps = check_positive_int(steps, "steps")
    anneal_step = check_positive_int(anneal_step, "anneal_step", minimum=0)
    every = check_positive_int(every, "every", minimum=0)
    for name, value in (("penalty_weight", penalty_weight), ("lr", lr), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    torch.manual_seed(seed)
    model = MLP(hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # The pooling has no parameters: pool every image once, not in every step (it would cost more than the MLP).
    with torch.no_grad():
        data = [(model.pool(e.images.to(device)), e.y.to(device)) for e in envs]
        test_data = (model.pool(test.images.to(device)), test.y.to(device)) if test is not None else None
    rows = []
    for step in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        model.train()
        risks, penalties, correct = [], [], []
        for x, y in data:
            z = model.head(x)[:, 0]
            risks.append(F.binary_cross_entropy_with_logits(z, y))
            penalties.append(irmv1_penalty(z, y))
            correct.append(((z > 0).float() == y).float().mean())
        risk, penalty = torch.stack(risks).mean(), torch.stack(penalties).mean()
        weight = penalty_weight if step >= anneal_step else min(1.0, penalty_weight)
        loss = risk + l2 * sum((p ** 2).sum() for p in model.parameters()) + weight * penalty
        if weight > 1:
            loss = loss / weight
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (every and step % every == 0) or step == steps - 1:
            rows.append({"step": step, "train accuracy": float(torch.stack(correct).mean()),
                         "test accuracy": _accuracy_of_pooled(model, *test_data) if test_data else float("nan"),
                         "train loss": float(risk.detach()), "penalty": float(penalty.detach())})
    return model.eval(), pd.DataFrame(rows)


@torch.no_grad()
def logits_of(model: nn.Module, env: Environment) -> torch.Tensor:
    """The model's logits on every example of ``env`` (on the CPU).

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> logits_of(MLP(4), coloured_digits().test).shape
    torch.Size([597])
    """
    if not isinstance(env, Environment) or len(env) == 0:
        raise TypeError("env must be a non-empty Environment")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    device = next(model.parameters()).device
    model.eval()
    return torch.cat([model(x.to(device)).cpu() for x in env.images.split(8192)])
