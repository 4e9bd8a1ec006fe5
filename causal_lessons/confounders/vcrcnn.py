r"""VC R-CNN's feature-level intervention (Wang, Huang, Zhang, Sun, CVPR 2020) as a small torch module.

The confounders are a dictionary :math:`Z = [z_1, \ldots, z_K]` of class features (the mean feature of each
class) with prior :math:`P(z_k)`. For a region feature :math:`x`,

.. math::
    P(Y \mid do(X = x)) = \mathbb E_z\big[\operatorname{softmax}(f(x, z))\big]
    \approx \operatorname{softmax}\big(f(x, \mathbb E_z[z])\big),
    \qquad \mathbb E_z[z] = \sum_k \big[\operatorname{softmax}(q^\top K / \sqrt{h})\big]_k\, P(z_k)\, z_k,

with :math:`q = W_q x` and :math:`K = W_k Z`. Moving the expectation inside the softmax is the *normalised
weighted geometric mean* (NWGM) approximation: it is exact for the NWGM, and for the linear :math:`f` used here
:math:`\mathbb E_z[f(x, z)] = f(x, \mathbb E_z[z])` exactly.
"""

from __future__ import annotations

import math

import torch
from torch import nn


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
    if features.ndim != 2 or labels.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features must be (N, d) and labels (N, K) with the same N, got "
                         f"{tuple(features.shape)} and {tuple(labels.shape)}")
    if not torch.all((labels == 0) | (labels == 1)):
        raise ValueError("labels must hold only 0 and 1")
    counts = labels.float().sum(0)
    if torch.any(counts == 0):
        raise ValueError(f"every class needs at least one image; classes {torch.nonzero(counts == 0).flatten().tolist()} have none")
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
    if probabilities.ndim != 2 or weights.shape != probabilities.shape[:1]:
        raise ValueError("probabilities must be (K, C) and weights (K,)")
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
        if dictionary.ndim != 2 or prior.shape != dictionary.shape[:1]:
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
        if x.ndim != 2 or x.shape[1] != self.query.in_features:
            raise ValueError(f"x must have shape (B, {self.query.in_features}), got {tuple(x.shape)}")
        scores = self.query(x) @ self.key(self.dictionary).T / math.sqrt(self.query.out_features)
        return torch.softmax(scores, dim=-1)

    def expected_confounder(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, d_z)``: :math:`\\sum_k a_k(x) P(z_k) z_k`."""
        return (self.attention(x) * self.prior) @ self.dictionary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of :math:`P(Y \\mid do(X = x))` under the NWGM approximation."""
        return self.classify_x(x) + self.classify_z(self.expected_confounder(x))
