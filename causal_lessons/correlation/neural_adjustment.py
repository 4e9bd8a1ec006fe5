r"""Backdoor adjustment with a neural outcome model, for the chapter 1 lab.

For a binary treatment :math:`X`, outcome :math:`Y` and confounders :math:`Z` that block every backdoor path,

.. math:: P(Y=1 \mid do(X=x)) = \mathbb E_{Z}\big[\,P(Y=1 \mid X=x, Z)\,\big]
          \approx \frac1n \sum_i \sigma\big(f_\theta(x, z_i)\big),

where :math:`f_\theta` is a small network fitted to observational data. Naive conditioning,
:math:`P(Y=1 \mid X=x)`, averages over :math:`P(Z \mid X=x)` instead of :math:`P(Z)`.

The lab's world (:func:`binary_confounded_scm`) has Gaussian noises, so both quantities are one-dimensional
integrals over :math:`z`; :func:`true_interventional` and :func:`true_conditional` compute them by Gauss-Hermite
quadrature, the exact answers the estimates are compared with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from .. import runtime
from .._checks import check_positive_int
from .scm import SCM, Mechanism, tanh

#: Gauss-Hermite nodes for the exact integrals: the integrands are smooth, 201 nodes give ~1e-12 accuracy.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(201)


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def outcome_score(x: Any, z: Any) -> Any:
    r"""The lab's outcome score :math:`s(x, z) = \tanh(2x - 1) + \tanh(2z) + z^2/2 - 1/2`:
    :math:`Y = \mathbb 1[s(X, Z) + U_Y > 0]`, so :math:`P(Y=1 \mid x, z) = \Phi(s(x, z))`.

    Works on numpy arrays and torch tensors alike.

    Examples
    --------
    >>> round(float(outcome_score(np.array(1.0), np.array(0.0))), 4)
    0.2616
    """
    return tanh(2 * x - 1) + tanh(2 * z) + 0.5 * z**2 - 0.5


def binary_confounded_scm(confounding: float = 1.5) -> SCM:
    r"""The lab's nonlinear world: :math:`Z \to X`, :math:`Z \to Y`, :math:`X \to Y`, binary :math:`X, Y`.

    .. math::
        \begin{aligned}
        Z &:= U_Z, \qquad X := \mathbb 1[\gamma Z + U_X > 0], \\
        Y &:= \mathbb 1[\tanh(2X - 1) + \tanh(2Z) + 0.5 Z^2 - 0.5 + U_Y > 0]
        \end{aligned}

    with :math:`\gamma` = ``confounding`` and standard normal noises.

    Examples
    --------
    >>> df = binary_confounded_scm().sample(1_000, seed=0)
    >>> sorted(df.columns), sorted(df["X"].unique().tolist())
    (['X', 'Y', 'Z'], [0.0, 1.0])
    """
    gamma = _real(confounding, "confounding")
    return SCM({
        "Z": Mechanism((), lambda noise: noise),
        "X": Mechanism(("Z",), lambda Z, noise: (gamma * Z + noise > 0) * 1.0),
        "Y": Mechanism(("X", "Z"), lambda X, Z, noise: (outcome_score(X, Z) + noise > 0) * 1.0),
    })


def _check_binary_value(x_value: Any) -> float:
    x_value = _real(x_value, "x_value")
    if x_value not in (0.0, 1.0):
        raise ValueError(f"x_value must be 0 or 1 (X is binary), got {x_value}")
    return x_value


def true_interventional(x_value: float) -> float:
    r"""The exact :math:`P(Y=1 \mid do(X=x)) = \int \varphi(z)\, \Phi(s(x, z))\, dz` in the lab's world (it does
    not depend on the confounding: :math:`do(X=x)` cuts the edge :math:`Z \to X`).

    Examples
    --------
    >>> model = binary_confounded_scm()
    >>> sim = float(model.do(X=1.0).sample_torch(400_000, seed=0)["Y"].mean())
    >>> abs(sim - true_interventional(1.0)) < 0.005
    True
    """
    x_value = _check_binary_value(x_value)
    p = stats.norm.cdf(outcome_score(x_value, _NODES))
    return float(np.sum(_WEIGHTS * p) / np.sum(_WEIGHTS))


def true_conditional(x_value: float, confounding: float = 1.5) -> float:
    r"""The exact :math:`P(Y=1 \mid X=x)`: the outcome averaged over :math:`P(z \mid X=x) \propto \varphi(z)
    P(X=x \mid z)`, with :math:`P(X=1 \mid z) = \Phi(\gamma z)`. This is what naive conditioning estimates.

    Examples
    --------
    >>> round(true_conditional(1.0, confounding=0.0) - true_interventional(1.0), 12)
    0.0
    """
    x_value = _check_binary_value(x_value)
    gamma = _real(confounding, "confounding")
    p_x = stats.norm.cdf(gamma * _NODES)
    p_x = p_x if x_value == 1.0 else 1 - p_x
    p_y = stats.norm.cdf(outcome_score(x_value, _NODES))
    return float(np.sum(_WEIGHTS * p_x * p_y) / np.sum(_WEIGHTS * p_x))


class OutcomeMLP(nn.Module):
    """A small MLP for the logit of :math:`P(Y=1 \\mid X, Z)`; input is ``[x, z_1, ..., z_k]``.

    Examples
    --------
    >>> OutcomeMLP(n_confounders=1)(torch.zeros(4, 2)).shape
    torch.Size([4])
    """

    def __init__(self, n_confounders: int = 1, hidden: int = 64) -> None:
        super().__init__()
        n_confounders = check_positive_int(n_confounders, "n_confounders")
        hidden = check_positive_int(hidden, "hidden")
        self.net = nn.Sequential(
            nn.Linear(1 + n_confounders, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, xz: torch.Tensor) -> torch.Tensor:
        return self.net(xz).squeeze(-1)


def _finite_tensor(value: Any, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    return value


def _check_xyz(x: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    x, z = _finite_tensor(x, "x"), _finite_tensor(z, "z")
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D tensor, got shape {tuple(x.shape)}")
    z2 = z.reshape(len(z), -1) if z.ndim == 1 else z
    if z2.ndim != 2 or len(z2) != len(x):
        raise ValueError(f"z must have shape (n,) or (n, k) with n = len(x) = {len(x)}, got {tuple(z.shape)}")
    if y is not None:
        y = _finite_tensor(y, "y")
        if y.shape != x.shape or not bool(torch.all((y == 0) | (y == 1))):
            raise ValueError(f"y must be a 0/1 tensor of the same shape as x {tuple(x.shape)}")
    return z2


def fit_outcome_model(
    x: torch.Tensor, z: torch.Tensor, y: torch.Tensor, steps: int = 500, batch_size: int = 1024,
    lr: float = 3e-3, seed: int = 0, progress: bool = True,
) -> OutcomeMLP:
    """Fit :class:`OutcomeMLP` to observational ``(x, z, y)`` by minibatch cross-entropy on ``x``'s device.

    Minibatch indices are drawn on that device, so no data crosses between host and device during training.

    Examples
    --------
    >>> df = binary_confounded_scm().sample_torch(2_000, seed=0)
    >>> model = fit_outcome_model(df["X"], df["Z"], df["Y"], steps=20, progress=False)
    >>> isinstance(model, OutcomeMLP)
    True
    """
    z2 = _check_xyz(x, z, y)
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_positive_int(seed, "seed", minimum=0)
    lr = _real(lr, "lr")
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    torch.manual_seed(seed)
    model = OutcomeMLP(n_confounders=z2.shape[1]).to(x.device)
    inputs = torch.cat([x[:, None], z2], dim=1).float()
    targets = y.float()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    batch = min(batch_size, len(x))
    for _ in runtime.progress(range(steps), "outcome model", progress):
        idx = torch.randint(len(x), (batch,), generator=gen, device=x.device)
        loss = loss_fn(model(inputs[idx]), targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def adjusted_probability(model: OutcomeMLP, x_value: float, z: torch.Tensor) -> float:
    r"""Adjustment formula :math:`\frac1n\sum_i \sigma(f(x, z_i))`: :math:`P(Y=1 \mid do(X=x))`.

    Examples
    --------
    >>> m = OutcomeMLP(1)
    >>> 0.0 <= adjusted_probability(m, 1.0, torch.randn(100)) <= 1.0
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a fitted OutcomeMLP, got {type(model).__name__}")
    x_value = _real(x_value, "x_value")
    z = _finite_tensor(z, "z")
    z2 = z.reshape(len(z), -1) if z.ndim == 1 else z
    expected = model.net[0].in_features - 1 if isinstance(model, OutcomeMLP) else z2.shape[-1]
    if z2.ndim != 2 or z2.shape[1] != expected:
        raise ValueError(f"z must have shape (n,) or (n, {expected}) for this model, got {tuple(z.shape)}")
    x_col = torch.full((len(z2), 1), x_value, device=z2.device)
    return float(torch.sigmoid(model(torch.cat([x_col, z2.float()], dim=1))).mean())


def naive_probability(x: torch.Tensor, y: torch.Tensor, x_value: float) -> float:
    r"""Naive conditioning :math:`P(Y=1 \mid X=x)`: the mean of ``y`` where ``x == x_value``.

    Examples
    --------
    >>> naive_probability(torch.tensor([0., 1., 1.]), torch.tensor([0., 1., 0.]), 1.0)
    0.5
    """
    x, y = _finite_tensor(x, "x"), _finite_tensor(y, "y")
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"x and y must be 1-D tensors of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    x_value = _real(x_value, "x_value")
    mask = x == x_value
    if not bool(mask.any()):
        raise ValueError(f"x_value {x_value} never occurs in x: P(Y | X = x) is undefined")
    return float(y[mask].float().mean())
