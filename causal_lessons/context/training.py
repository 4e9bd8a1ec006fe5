r"""One training loop for ERM, IRMv1 and the grayscale oracle: a small MLP on coloured digits, full batch.

The loop is Arjovsky et al.'s (their coloured-MNIST code): in each step, every training environment
:math:`e` gives its mean logistic loss :math:`R_e` and its IRMv1 penalty :math:`P_e`
(:func:`~causal_lessons.context.penalty.irmv1_penalty`), and the model minimises

.. math::

   \begin{aligned}
   L &= \frac{1}{|E|} \sum_e R_e + \lambda_2 \lVert\theta\rVert^2 + \lambda(t)\, \frac{1}{|E|} \sum_e P_e,
   \qquad \lambda(t) = \begin{cases} 1 & t < t_0 \\ \lambda & t \ge t_0 \end{cases}
   \end{aligned}

divided by :math:`\lambda(t)` when it exceeds 1 (Arjovsky et al.'s reason: to "keep gradients in a reasonable
range"; with Adam a constant scale of the loss leaves the step size unchanged, but Adam's state is not reset at
:math:`t_0`, so for a while after it the division shrinks the steps). The penalty weight rises at the *annealing
step* :math:`t_0`. Before it the weight is 1: the penalty's value is small next to the risk, but its gradient need
not be, so the model minimises the mean of the environments' mean risks -- plain ERM when the environments are
the same size, a reweighting of the examples when they are not -- plus a penalty that can still move it; after
it the penalty dominates. Arjovsky et
al.'s loop uses weight 1 before :math:`t_0` whatever :math:`\lambda`; here the weight before :math:`t_0` is
:math:`\min(1, \lambda)`, so that ERM (:math:`\lambda = 0`) has no penalty at any step, as their ERM baseline
(weight 0 from step 0). The grayscale oracle is ERM on images with the colour removed
(:func:`~causal_lessons.context.coloured_digits.remove_colour`), so all models have the same architecture,
the same number of parameters and the same number of steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int
from .coloured_digits import Environment

#: Inputs of the MLP: two colour channels of 17 x 17 pixels, averaged over 2 x 2 blocks to 8 x 8.
N_INPUTS = 2 * 8 * 8


class MLP(nn.Module):
    """Two hidden ReLU layers and one logit on the image averaged over 2 x 2 pixel blocks (Arjovsky et al.'s
    model; they halve MNIST's 28 x 28 to 14 x 14 by keeping every other pixel, not by averaging; our digits are
    8 x 8 scans upsampled to 16 x 16, so the averaging loses little and makes each step four times cheaper).
    The layers keep torch's default initialisation (Arjovsky et al.: Xavier-uniform weights, zero biases).

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


@dataclass(frozen=True)
class Task:
    """One model of a stack trained by :func:`train_many`: its training environments, penalty schedule, seed and
    (optionally) the environment its learning curve is tested on.

    Attributes
    ----------
    envs
        Training environments (one for plain ERM on pooled data, two or more for IRM).
    penalty_weight
        :math:`\\lambda` from the annealing step on; 0 gives ERM (group-balanced when the environments differ in
        size: each environment's mean risk counts equally).
    anneal_step
        :math:`t_0` of the module docstring.
    seed
        Seeds the initialisation (the same as :class:`MLP` built after ``torch.manual_seed(seed)``).
    test
        Evaluated every ``every`` steps for the learning curve (never trained on), or ``None``.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> Task(coloured_digits().train, penalty_weight=1e4, anneal_step=100).anneal_step
    100
    """

    envs: Sequence[Environment]
    penalty_weight: float = 0.0
    anneal_step: int = 0
    seed: int = 0
    test: Environment | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "envs", tuple(_check_envs(self.envs, "envs")))
        value = self.penalty_weight
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"penalty_weight must be a finite number >= 0, got {value!r}")
        check_positive_int(self.anneal_step, "anneal_step", minimum=0)
        check_positive_int(self.seed, "seed", minimum=0)
        if self.test is not None and (not isinstance(self.test, Environment) or len(self.test) == 0):
            raise TypeError(f"test must be a non-empty Environment or None, got {type(self.test).__name__}")


def _forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The logits of a stack of MLP heads, ``(M, n)``, on pooled inputs ``(M, n, N_INPUTS)``."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.relu(torch.baddbmm(b1[:, None], x, w1.mT))
    h = torch.relu(torch.baddbmm(b2[:, None], h, w2.mT))
    return torch.baddbmm(b3[:, None], h, w3.mT)[..., 0]


def train_many(tasks: Sequence[Task], *, steps: int = 400, hidden: int = 32, lr: float = 2e-3, l2: float = 1e-3,
               every: int = 0, device: torch.device | str = "cpu", progress: bool = False,
               desc: str = "training") -> tuple[list[MLP], list[pd.DataFrame]]:
    r"""Train one :class:`MLP` per task, all at once, by the loop of the module docstring (full batch, Adam).

    The models' parameters are stacked and every step runs one batched matrix product per layer for all of them;
    the models share nothing (each loss depends only on its own parameters, and Adam acts element by element),
    so each model follows the trajectory it would follow alone, up to floating-point rounding. Each
    environment's penalty is computed in closed form,
    :math:`P_e = \bigl(\frac{1}{n_e}\sum_{i \in e} (\sigma(z_i) - y_i) z_i\bigr)^2`
    (:func:`~causal_lessons.context.penalty.irmv1_penalty_closed_form`, equal to the autograd definition).

    Parameters
    ----------
    tasks
        The models to train (:class:`Task`); their environments must hold the same number of examples in all,
        and their test environments (all given or none) the same number too.
    steps, hidden, lr, l2
        Optimisation steps, hidden width, Adam's step size and the weight of :math:`\lVert\theta\rVert^2`.
    every
        Log the curves every ``every`` steps (0: only at the end).
    device
        Where to train; the data is moved there once.
    progress
        Show a progress bar.
    desc
        The progress bar's label.

    Returns
    -------
    (list of MLP, list of pandas.DataFrame)
        The trained models and their learning curves, in the order of ``tasks``: step, train accuracy (mean
        over environments), test accuracy, train loss :math:`\frac{1}{|E|}\sum_e R_e` and penalty
        :math:`\frac{1}{|E|}\sum_e P_e`.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> data = coloured_digits()
    >>> models, curves = train_many([Task(data.train), Task(data.train, 1e4, 1, seed=1)], steps=2, hidden=4)
    >>> len(models), list(curves[1]["step"])
    (2, [1])
    """
    if isinstance(tasks, Task) or not isinstance(tasks, Sequence) or not tasks:
        raise TypeError("tasks must be a non-empty sequence of Task")
    if not all(isinstance(t, Task) for t in tasks):
        raise TypeError("tasks must hold only Task objects")
    steps = check_positive_int(steps, "steps")
    hidden = check_positive_int(hidden, "hidden")
    every = check_positive_int(every, "every", minimum=0)
    for name, value in (("lr", lr), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if len({sum(len(e) for e in t.envs) for t in tasks}) != 1:
        raise ValueError("tasks must have the same number of training examples (all environments together)")
    tests = [t.test for t in tasks]
    if any(t is None for t in tests) and not all(t is None for t in tests):
        raise ValueError("tasks must all have a test environment or none")
    if tests[0] is not None and len({len(t) for t in tests}) != 1:
        raise ValueError("tasks' test environments must have the same number of examples")
    pool = nn.Sequential(nn.AvgPool2d(2), nn.Flatten())
    with torch.no_grad():
        # The pooling has no parameters: pool every image once, not in every step (it would cost more than the
        # MLP). Environment e of a task is a row of weights 1 / n_e on its examples, so that a weighted sum is
        # the environment's mean; tasks with fewer environments get rows of zeros.
        x = torch.stack([torch.cat([pool(e.images.to(device)) for e in t.envs]) for t in tasks])
        y = torch.stack([torch.cat([e.y for e in t.envs]) for t in tasks]).to(device)
        n_envs = torch.tensor([len(t.envs) for t in tasks], dtype=x.dtype, device=device)
        weights = torch.zeros(len(tasks), int(n_envs.max()), x.shape[1], device=device)
        for m, t in enumerate(tasks):
            start = 0
            for k, e in enumerate(t.envs):
                weights[m, k, start:start + len(e)] = 1 / len(e)
                start += len(e)
        test_x = torch.stack([pool(t.images.to(device)) for t in tests]) if tests[0] is not None else None
        test_y = torch.stack([t.y for t in tests]).to(device) if tests[0] is not None else None
    inits = []
    for t in tasks:
        torch.manual_seed(t.seed)
        inits.append([p.detach() for p in MLP(hidden).head.parameters()])
    params = [torch.stack(ps).to(device).requires_grad_() for ps in zip(*inits)]
    lam = torch.tensor([float(t.penalty_weight) for t in tasks], device=device)
    anneal = torch.tensor([t.anneal_step for t in tasks], device=device)
    opt = torch.optim.Adam(params, lr=lr)
    rows: list[list[dict]] = [[] for _ in tasks]
    for step in runtime.progress(range(steps), desc, progress):
        z = _forward(params, x)
        risks = torch.einsum("men,mn->me", weights, F.binary_cross_entropy_with_logits(z, y, reduction="none"))
        penalties = torch.einsum("men,mn->me", weights, (torch.sigmoid(z) - y) * z) ** 2
        risk, penalty = risks.sum(1) / n_envs, penalties.sum(1) / n_envs
        weight = torch.where(step >= anneal, lam, lam.clamp(max=1.0))
        norm = sum((p ** 2).flatten(1).sum(1) for p in params)
        loss = (risk + l2 * norm + weight * penalty) / weight.clamp(min=1.0)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        if (every and step % every == 0) or step == steps - 1:
            with torch.no_grad():
                correct = ((z > 0).float() == y).float()
                train_acc = torch.einsum("men,mn->me", weights, correct).sum(1) / n_envs
                test_acc = (((_forward(params, test_x) > 0).float() == test_y).float().mean(1)
                            if test_x is not None else torch.full_like(risk, float("nan")))
            logged = zip(train_acc.tolist(), test_acc.tolist(), risk.detach().tolist(), penalty.detach().tolist())
            for m, (train_a, test_a, risk_m, penalty_m) in enumerate(logged):
                rows[m].append({"step": step, "train accuracy": train_a, "test accuracy": test_a,
                                "train loss": risk_m, "penalty": penalty_m})
    models = []
    for m in range(len(tasks)):
        model = MLP(hidden).to(device)
        with torch.no_grad():
            for p, stacked in zip(model.head.parameters(), params):
                p.copy_(stacked[m])
        models.append(model.eval())
    return models, [pd.DataFrame(r) for r in rows]


def train(envs: Sequence[Environment], *, test: Environment | None = None, penalty_weight: float = 0.0,
          anneal_step: int = 0, steps: int = 400, hidden: int = 32, lr: float = 2e-3, l2: float = 1e-3,
          seed: int = 0, every: int = 0, device: torch.device | str = "cpu", progress: bool = False,
          desc: str = "training") -> tuple[MLP, pd.DataFrame]:
    """Train one :class:`MLP` on the environments by the loop of the module docstring (:func:`train_many` with
    one :class:`Task`).

    Parameters
    ----------
    envs
        Training environments (one for plain ERM on pooled data, two or more for IRM).
    test
        Evaluated every ``every`` steps for the learning curves (never trained on).
    penalty_weight
        :math:`\\lambda` after the annealing step; 0 gives ERM.
    anneal_step
        :math:`t_0`: the penalty weight is :math:`\\min(1, \\lambda)` before it (Arjovsky et al. use 190 of 501
        steps).
    steps, hidden, lr, l2, seed
        Optimisation steps, hidden width, Adam's step size, the weight of :math:`\\lVert\\theta\\rVert^2`, and
        the seed of the initialisation.
    every
        Log the curves every ``every`` steps (0: only at the end).
    device
        Where to train; the data is moved there once.
    progress
        Show a progress bar.
    desc
        The progress bar's label.

    Returns
    -------
    (MLP, pandas.DataFrame)
        The trained model and its learning curves (see :func:`train_many`).

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> data = coloured_digits()
    >>> model, curves = train(data.train, test=data.test, steps=2, hidden=4)
    >>> list(curves.columns)
    ['step', 'train accuracy', 'test accuracy', 'train loss', 'penalty']
    """
    if test is not None and not isinstance(test, Environment):
        raise TypeError(f"test must be an Environment or None, got {type(test).__name__}")
    models, curves = train_many([Task(envs, penalty_weight, anneal_step, seed, test)], steps=steps, hidden=hidden,
                                lr=lr, l2=l2, every=every, device=device, progress=progress, desc=desc)
    return models[0], curves[0]


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
