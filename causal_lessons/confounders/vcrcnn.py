r"""VC R-CNN's feature-level intervention (Wang, Huang, Zhang, Sun, CVPR 2020) as a small torch module, and the
error of the approximations it makes.

The confounders are a dictionary :math:`Z = [z_1, \ldots, z_K]` of class features (the mean feature of each
class) with prior :math:`P(z_k)`. For a region feature :math:`x` and a classifier
:math:`f(x, z) = W_x x + W_z z` the interventional prediction is an expectation over the prior,

.. math::
    P(Y \mid do(X = x)) = \mathbb E_{z \sim P(z)}\big[\operatorname{softmax}(f(x, z))\big]
    = \sum_k P(z_k)\, \operatorname{softmax}(f(x, z_k)).

Two approximations replace it:

- **NWGM.** Moving the expectation inside the softmax, :math:`\operatorname{softmax}(f(x, \mathbb E_z[z]))` with
  :math:`\mathbb E_z[z] = \sum_k P(z_k) z_k`. For a linear :math:`f` this is the *normalised weighted geometric
  mean* of the :math:`K` distributions :math:`\operatorname{softmax}(f(x, z_k))` (:func:`nwgm`), not their
  arithmetic mean: an approximation whose error grows with the spread of the logits over :math:`k`.
- **VC R-CNN's attention.** The paper computes the "expected confounder" as
  :math:`\sum_k a_k(x)\, P(z_k)\, z_k` with :math:`a(x) = \operatorname{softmax}(q^\top K / \sqrt{h})`,
  :math:`q = W_q x`, :math:`K = W_k Z`. This is **not** :math:`\mathbb E_z[z]`: the weights
  :math:`a_k(x) P(z_k)` depend on :math:`x` and sum to :math:`\sum_k a_k(x) P(z_k) \le \max_k P(z_k) < 1`,
  not to 1.

:func:`approximation_errors` measures both against the exact expectation (total-variation distance per feature).
:class:`NWGMIntervention` is the control: the same module trained with :math:`\mathbb E_z[z]` as its input, so
that :math:`W_z` is fitted at the scale at which the NWGM and the exact expectation apply it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import check_positive_int


def confounder_dictionary(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-mean features and the image-frequency prior of each class.

    Parameters
    ----------
    features
        ``(N, d)`` image (or region) features.
    labels
        ``(N, K)`` 0/1 labels.

    Returns
    -------
    dictionary, prior
        ``(K, d)`` mean feature of the images containing each class, and ``(K,)`` prior ``#k / sum_j #j``.

    Examples
    --------
    >>> d, p = confounder_dictionary(torch.eye(2), torch.tensor([[1, 0], [1, 1]]))
    >>> d.tolist(), [round(v, 3) for v in p.tolist()]
    ([[0.5, 0.5], [0.0, 1.0]], [0.667, 0.333])
    """
    features, labels = _tensor(features, "features", 2), _tensor(labels, "labels", 2)
    if len(features) != len(labels):
        raise ValueError(f"features must be (N, d) and labels (N, K) with the same N, got "
                         f"{tuple(features.shape)} and {tuple(labels.shape)}")
    if not torch.all((labels == 0) | (labels == 1)):
        raise ValueError("labels must hold only 0 and 1")
    counts = labels.float().sum(0)
    if torch.any(counts == 0):
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"labels: every class needs at least one image; classes {missing} have none")
    dictionary = labels.float().T @ features.float() / counts[:, None]
    return dictionary, counts / counts.sum()


def nwgm(probabilities: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""Normalised weighted geometric mean over confounders: :math:`\prod_k p_k^{w_k}`, renormalised over classes.

    For :math:`p_k = \operatorname{softmax}(f_k)` it equals :math:`\operatorname{softmax}(\sum_k w_k f_k)`.

    Parameters
    ----------
    probabilities
        ``(K, C)``: a distribution over ``C`` classes for each of ``K`` confounders.
    weights
        ``(K,)`` non-negative weights summing to 1.

    Examples
    --------
    >>> logits = torch.randn(3, 4); w = torch.tensor([0.2, 0.3, 0.5])
    >>> torch.allclose(nwgm(logits.softmax(-1), w), (w @ logits).softmax(-1), atol=1e-6)
    True
    """
    probabilities, weights = _tensor(probabilities, "probabilities", 2), _tensor(weights, "weights", 1)
    if weights.shape != probabilities.shape[:1]:
        raise ValueError(f"weights must have shape ({len(probabilities)},), one per row of probabilities (K, C), "
                         f"got {tuple(weights.shape)}")
    if torch.any(probabilities < 0) or not torch.allclose(probabilities.sum(-1), torch.ones(
            len(probabilities), dtype=probabilities.dtype), atol=1e-5):
        raise ValueError("probabilities must hold a distribution in each row (non-negative, summing to 1)")
    if torch.any(weights < 0) or not torch.isclose(weights.sum(), torch.tensor(1.0, dtype=weights.dtype)):
        raise ValueError("weights must be non-negative and sum to 1")
    log_mean = weights @ torch.log(probabilities)
    return torch.softmax(log_mean, dim=-1)


class VCIntervention(nn.Module):
    """Classifier :math:`\\operatorname{softmax}(W_x x + W_z \\mathbb E_z[z])` with the attention over a confounder
    dictionary described in the module docstring.

    Examples
    --------
    >>> dictionary, prior = torch.randn(5, 8), torch.full((5,), 0.2)
    >>> model = VCIntervention(feature_dim=8, dictionary=dictionary, prior=prior, n_classes=3)
    >>> model(torch.randn(2, 8)).shape, round(model.attention(torch.randn(2, 8)).sum(-1)[0].item(), 6)
    (torch.Size([2, 3]), 1.0)
    """

    def __init__(self, feature_dim: int, dictionary: torch.Tensor, prior: torch.Tensor, n_classes: int,
                 hidden: int = 32) -> None:
        super().__init__()
        dictionary, prior = _tensor(dictionary, "dictionary", 2), _tensor(prior, "prior", 1)
        feature_dim, n_classes = check_positive_int(feature_dim, "feature_dim"), check_positive_int(
            n_classes, "n_classes", minimum=2)
        if prior.shape != dictionary.shape[:1]:
            raise ValueError(f"dictionary must be (K, d_z) and prior (K,), got {tuple(dictionary.shape)} and "
                             f"{tuple(prior.shape)}")
        if torch.any(prior < 0) or not math.isclose(float(prior.sum()), 1.0, rel_tol=1e-5):
            raise ValueError("prior must be non-negative and sum to 1")
        self.register_buffer("dictionary", dictionary.float())
        self.register_buffer("prior", prior.float())
        self.query = nn.Linear(feature_dim, hidden, bias=False)
        self.key = nn.Linear(dictionary.shape[1], hidden, bias=False)
        self.classify_x = nn.Linear(feature_dim, n_classes)
        self.classify_z = nn.Linear(dictionary.shape[1], n_classes, bias=False)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` attention of each feature over the confounder dictionary (rows sum to 1)."""
        _check_features(x, self.query.in_features)
        scores = self.query(x) @ self.key(self.dictionary).T / math.sqrt(self.query.out_features)
        return torch.softmax(scores, dim=-1)

    def expected_confounder(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, d_z)``: :math:`\\sum_k a_k(x) P(z_k) z_k`."""
        return (self.attention(x) * self.prior) @ self.dictionary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of VC R-CNN's prediction, :math:`f(x, \\sum_k a_k(x) P(z_k) z_k)` (an approximation of
        :math:`P(Y \\mid do(X = x))`: see the module docstring)."""
        _check_features(x, self.query.in_features)
        return self.classify_x(x) + self.classify_z(self.expected_confounder(x))

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C)``: :math:`\\sum_k P(z_k)\\, \\operatorname{softmax}(f(x, z_k))`, the expectation both
        approximations stand in for."""
        _check_features(x, self.query.in_features)
        logits = self.classify_x(x)[:, None, :] + self.classify_z(self.dictionary)[None]  # (B, K, C)
        return torch.einsum("k,bkc->bc", self.prior, logits.softmax(-1))

    def nwgm(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C)``: :math:`\\operatorname{softmax}(f(x, \\mathbb E_z[z]))` with the prior's expectation."""
        _check_features(x, self.query.in_features)
        return (self.classify_x(x) + self.classify_z(self.prior @ self.dictionary)).softmax(-1)


class NWGMIntervention(VCIntervention):
    r"""A control for :class:`VCIntervention`: the same module trained in NWGM form, its confounder input the
    prior's expectation :math:`\mathbb E_z[z] = \sum_k P(z_k) z_k` (weights summing to 1) instead of the
    attention-weighted :math:`\sum_k a_k(x) P(z_k) z_k` (weights summing to at most :math:`\max_k P(z_k)`).

    :math:`\mathbb E_z[z]` does not depend on :math:`x`, so this is a classifier of :math:`x` plus a constant
    bias; it is why VC R-CNN needs an :math:`x`-dependent attention. Training it fits :math:`W_z` to inputs
    of the scale the NWGM and the exact expectation use, so its NWGM error measures the approximation without
    the scale mismatch of a module trained through the attention.

    Examples
    --------
    >>> dictionary, prior = torch.randn(5, 8), torch.full((5,), 0.2)
    >>> model = NWGMIntervention(feature_dim=8, dictionary=dictionary, prior=prior, n_classes=3)
    >>> x = torch.randn(2, 8)
    >>> torch.allclose(model(x).softmax(-1), model.nwgm(x))
    True
    """

    def expected_confounder(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(B, d_z)``: :math:`\mathbb E_z[z]` for every feature."""
        _check_features(x, self.query.in_features)
        return (self.prior @ self.dictionary).expand(len(x), -1)


def approximation_errors(model: VCIntervention, x: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""Total-variation distance, per feature, between each approximation and the exact
    :math:`\sum_k P(z_k) \operatorname{softmax}(f(x, z_k))` of the same module (see the module docstring):

    .. math:: \operatorname{TV}(p, q) = \tfrac12 \sum_c |p_c - q_c| \in [0, 1].

    Returns
    -------
    dict
        ``"nwgm"``: :math:`\operatorname{softmax}(f(x, \mathbb E_z[z]))`; ``"attention"``: VC R-CNN's
        :math:`\operatorname{softmax}(f(x, \sum_k a_k(x) P(z_k) z_k))`; each a ``(B,)`` tensor.

    Examples
    --------
    >>> dictionary, prior = torch.randn(3, 4), torch.tensor([0.2, 0.3, 0.5])
    >>> model = VCIntervention(4, dictionary, prior, n_classes=2)
    >>> with torch.no_grad():
    ...     _ = model.classify_z.weight.zero_()  # no confounder in the logits: both are exact
    >>> errors = approximation_errors(model, torch.randn(5, 4))
    >>> [round(float(e.max()), 6) for e in errors.values()]
    [0.0, 0.0]
    """
    if not isinstance(model, VCIntervention):
        raise TypeError(f"model must be a VCIntervention, got {type(model).__name__}")
    _check_features(x, model.query.in_features)
    with torch.no_grad():
        exact = model.exact(x)
        approximations = {"nwgm": model.nwgm(x), "attention": model(x).softmax(-1)}
        return {name: 0.5 * (p - exact).abs().sum(-1) for name, p in approximations.items()}


def fit(model: VCIntervention, x: torch.Tensor, target: torch.Tensor, steps: int, lr: float = 1e-2,
        batch_size: int = 256, seed: int = 0) -> list[float]:
    """Train ``model`` by cross-entropy on ``(x, target)``: Adam, ``steps`` minibatches drawn with replacement.

    Returns the loss of every step.

    Examples
    --------
    >>> model = VCIntervention(4, torch.randn(3, 4), torch.full((3,), 1 / 3), n_classes=2)
    >>> x = torch.randn(64, 4); target = (x[:, 0] > 0).long()
    >>> losses = fit(model, x, target, steps=50)
    >>> losses[-1] < losses[0]
    True
    """
    if not isinstance(model, VCIntervention):
        raise TypeError(f"model must be a VCIntervention, got {type(model).__name__}")
    _check_features(x, model.query.in_features)
    if not isinstance(target, torch.Tensor) or target.shape != x.shape[:1] or target.dtype.is_floating_point:
        raise ValueError(f"target must be an integer tensor of shape ({len(x)},), one class per feature")
    n_classes = model.classify_x.out_features
    if int(target.min()) < 0 or int(target.max()) >= n_classes:
        raise ValueError(f"target must hold classes in [0, {n_classes})")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    idx = torch.randint(len(x), (steps, batch_size), generator=gen)
    losses = []
    for batch in idx:
        loss = torch.nn.functional.cross_entropy(model(x[batch]), target[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _tensor(value: torch.Tensor, name: str, ndim: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    if value.ndim != ndim or value.numel() == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D tensor, got shape {tuple(value.shape)}")
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    return value


def _check_features(x: torch.Tensor, dim: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != dim or len(x) == 0:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a non-empty tensor of shape (B, {dim}), got {shape}")
    if not torch.isfinite(x).all():
        raise ValueError("x must hold only finite numbers (no NaN or inf)")
