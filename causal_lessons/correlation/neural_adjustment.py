r"""Backdoor adjustment with a neural outcome model, for the chapter 1 lab.

For a binary treatment :math:`X`, outcome :math:`Y` and confounders :math:`Z` that block every backdoor path,

.. math:: P(Y=1 \mid do(X=x)) = \mathbb E_{Z}\big[\,P(Y=1 \mid X=x, Z)\,\big]
          \approx \frac1n \sum_i \sigma\big(f_\theta(x, z_i)\big),

where :math:`f_\theta` is a small network fitted to observational data. Naive conditioning,
:math:`P(Y=1 \mid X=x)`, averages over :math:`P(Z \mid X=x)` instead of :math:`P(Z)`.
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int
from .scm import SCM, Mechanism, tanh


def binary_confounded_scm(confounding: float = 1.5) -> SCM:
    r"""The lab's nonlinear world: :math:`Z \to X`, :math:`Z \to Y`, :math:`X \to Y`, binary :math:`X, Y`.

    .. math::
        Z := U_Z,\quad X := \mathbb 1[\gamma Z + U_X > 0],\quad
        Y := \mathbb 1[\tanh(2X - 1) + \tanh(2Z) + 0.5 Z^2 - 0.5 + U_Y > 0]

    with :math:`\gamma` = ``confounding`` and standard normal noises.

    Examples
    --------
    >>> df = binary_confounded_scm().sample(1_000, seed=0)
    >>> sorted(df.columns), sorted(df["X"].unique().tolist())
    (['X', 'Y', 'Z'], [0.0, 1.0])
    """
    gamma = float(confounding)
    return SCM({
        "Z": Mechanism((), lambda noise: noise),
        "X": Mechanism(("Z",), lambda Z, noise: (gamma * Z + noise > 0) * 1.0),
        "Y": Mechanism(("X", "Z"),
                       lambda X, Z, noise: (tanh(2 * X - 1) + tanh(2 * Z) + 0.5 * Z**2 - 0.5 + noise > 0) * 1.0),
    })


class OutcomeMLP(nn.Module):
    """A small MLP for the logit of :math:`P(Y=1 \\mid X, Z)`; input is ``[x, z_1, ..., z_k]``.

    Examples
    --------
    >>> OutcomeMLP(n_confounders=1)(torch.zeros(4, 2)).shape
    torch.Size([4])
    """

    def __init__(self, n_confounders: int = 1, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1 + n_confounders, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, xz: torch.Tensor) -> torch.Tensor:
        return self.net(xz).squeeze(-1)


def _check_xyz(x: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not isinstance(z, torch.Tensor):
        raise TypeError("x and z must be torch tensors")
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"x must be a non-empty 1-D tensor, got shape {tuple(x.shape)}")
    z2 = z.reshape(len(z), -1) if z.ndim == 1 else z
    if z2.ndim != 2 or len(z2) != len(x):
        raise ValueError(f"z must have shape (n,) or (n, k) with n = len(x) = {len(x)}, got {tuple(z.shape)}")
    if y is not None and (y.shape != x.shape or not torch.all((y == 0) | (y == 1))):
        raise ValueError("y must be a 0/1 tensor of the same shape as x")
    return z2


def fit_outcome_model(
    x: torch.Tensor, z: torch.Tensor, y: torch.Tensor, steps: int = 500, batch_size: int = 1024,
    lr: float = 3e-3, seed: int = 0, progress: bool = True,
) -> OutcomeMLP:
    """Fit :class:`OutcomeMLP` to observational ``(x, z, y)`` by minibatch cross-entropy; on ``x``'s device.

    Examples
    --------
    >>> df = binary_confounded_scm().sample_torch(2_000, seed=0)
    >>> model = fit_outcome_model(df["X"], df["Z"], df["Y"], steps=20, progress=False)
    >>> isinstance(model, OutcomeMLP)
    True
    """
    z2 = _check_xyz(x, z, y)
    steps = check_positive_int(steps, "steps")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = OutcomeMLP(n_confounders=z2.shape[1]).to(x.device)
    inputs = torch.cat([x[:, None], z2], dim=1).float()
    targets = y.float()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in tqdm(range(steps), desc="outcome model", disable=not progress):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen).to(x.device)
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
    z2 = z.reshape(len(z), -1) if z.ndim == 1 else z
    if len(z2) == 0:
        raise ValueError("z must not be empty")
    x_col = torch.full((len(z2), 1), float(x_value), device=z2.device)
    return float(torch.sigmoid(model(torch.cat([x_col, z2.float()], dim=1))).mean())


def naive_probability(x: torch.Tensor, y: torch.Tensor, x_value: float) -> float:
    r"""Naive conditioning :math:`P(Y=1 \mid X=x)`: the mean of ``y`` where ``x == x_value``.

    Examples
    --------
    >>> naive_probability(torch.tensor([0., 1., 1.]), torch.tensor([0., 1., 0.]), 1.0)
    0.5
    """
    mask = x == x_value
    if not bool(mask.any()):
        raise ValueError(f"x_value {x_value} never occurs in x: P(Y | X = x) is undefined")
    return float(y[mask].float().mean())
