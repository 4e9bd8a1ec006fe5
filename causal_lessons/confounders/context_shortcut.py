r"""Context shortcuts in a CNN, and backdoor-adjusted training (the chapter 2 lab).

Each image shows a class object (one of four glyphs) on a context (one of four background colours). In training
the context is confounded with the class: :math:`P(z = y) = \text{bias}`. On the *intervened* test set the context
is assigned at random, :math:`do(z)`, so a classifier that reads the colour fails there.

Backdoor-adjusted training weights each training image by

.. math:: w(y, z) = \frac{P(z)}{P(z \mid y)},

which makes class and context independent in the weighted training distribution: the network is trained as if
on data drawn under :math:`do(z \sim P(z))`, i.e. stratified by context and weighted by the context prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int, check_probability
from .coloured_images import colourise, confounded_colours

N_CLASSES = 4
SIZE = 16


def _glyphs() -> torch.Tensor:
    g = torch.zeros(N_CLASSES, 8, 8)
    g[0, 3:5, 1:7] = 1  # horizontal bar
    g[1, 1:7, 3:5] = 1  # vertical bar
    g[2, 3:5, 1:7] = 1  # plus
    g[2, 1:7, 3:5] = 1
    g[3, 1:7, 1:7] = 1  # ring
    g[3, 3:5, 3:5] = 0
    return g


@dataclass(frozen=True)
class ContextImages:
    """Images ``(n, 3, 16, 16)``, class ``y`` and context ``z`` (both ``(n,)`` integers in [0, 4))."""

    images: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor


def make_context_images(n: int, bias: float, seed: int = 0, noise: float = 0.2) -> ContextImages:
    r"""Draw ``n`` images; the context equals the class with probability ``bias``, else it is one of the others.

    ``bias = 0.25`` is the intervened (unconfounded) set: the context is uniform and independent of the class.

    Examples
    --------
    >>> data = make_context_images(100, bias=0.9, seed=0)
    >>> data.images.shape, round(float((data.y == data.z).float().mean()), 1)
    (torch.Size([100, 3, 16, 16]), 0.9)
    """
    n = check_positive_int(n, "n")
    bias = check_probability(bias, "bias")
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(N_CLASSES, (n,), generator=gen)
    z = confounded_colours(y, bias, N_CLASSES, gen)
    shapes = torch.zeros(n, SIZE, SIZE)
    glyph = _glyphs()[y]
    offsets = torch.randint(0, SIZE - 8 + 1, (n, 2), generator=gen)
    for i in range(n):  # pasting at a random offset; n is at most a few tens of thousands
        r, c = offsets[i].tolist()
        shapes[i, r:r + 8, c:c + 8] = glyph[i]
    images = colourise(shapes, z, "background")
    images = images + noise * torch.randn(images.shape, generator=gen)
    return ContextImages(images, y, z)


def backdoor_weights(y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""Per-image weights :math:`P(z)/P(z \mid y)`, estimated from the training set (mean 1).

    Examples
    --------
    >>> w = backdoor_weights(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]))
    >>> [round(v, 3) for v in w.tolist()]
    [0.75, 0.75, 1.5, 0.5]
    """
    if y.shape != z.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("y and z must be non-empty 1-D tensors of the same length")
    k = int(max(y.max(), z.max())) + 1
    joint = torch.zeros(k, k)
    joint.index_put_((y, z), torch.ones(len(y)), accumulate=True)
    p_z = joint.sum(0) / len(y)
    p_z_given_y = joint / joint.sum(1, keepdim=True).clamp_min(1)
    return p_z[z] / p_z_given_y[y, z]


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head.

    Examples
    --------
    >>> SmallCNN()(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 4])
    """

    def __init__(self, channels: int = 16, n_classes: int = N_CLASSES) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def train_classifier(data: ContextImages, weights: torch.Tensor | None = None, epochs: int = 5,
                     batch_size: int = 32, lr: float = 3e-3, seed: int = 0, channels: int = 16,
                     device: torch.device | str = "cpu", progress: bool = False) -> SmallCNN:
    """Train :class:`SmallCNN` by cross-entropy on minibatches drawn in proportion to ``weights`` (uniformly if
    ``None``).

    Examples
    --------
    >>> model = train_classifier(make_context_images(64, 0.9), epochs=1)
    >>> isinstance(model, SmallCNN)
    True
    """
    epochs = check_positive_int(epochs, "epochs")
    if weights is not None and weights.shape != data.y.shape:
        raise ValueError(f"weights must have shape {tuple(data.y.shape)}, got {tuple(weights.shape)}")
    torch.manual_seed(seed)
    model = SmallCNN(channels).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    images, labels = data.images.to(device), data.y.to(device)
    # Weights enter through sampling rather than the loss: the same expected gradient with far less variance
    # when a few rare (class, context) pairs carry large weights.
    probs = weights if weights is not None else torch.ones(len(labels))
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * max(1, len(labels) // batch_size)
    for _ in tqdm(range(steps), desc="training", disable=not progress):
        idx = torch.multinomial(probs, batch_size, replacement=True, generator=gen).to(device)
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, data: ContextImages, device: torch.device | str = "cpu") -> float:
    """Share of images whose class is predicted correctly.

    Examples
    --------
    >>> 0.0 <= accuracy(SmallCNN(), make_context_images(32, 0.25)) <= 1.0
    True
    """
    predictions = torch.cat([model(chunk.to(device)).argmax(1).cpu() for chunk in data.images.split(4096)])
    return float((predictions == data.y).float().mean())


def context_experiment(n_train: int, bias: float, seeds: list[int], epochs: int = 5, n_test: int = 2_000,
                       device: torch.device | str = "cpu", channels: int = 16, progress: bool = True) -> pd.DataFrame:
    """Plain versus backdoor-adjusted training, tested on confounded and intervened sets; one row per seed and method.

    Examples
    --------
    >>> df = context_experiment(200, 0.9, seeds=[0], epochs=1, n_test=50, progress=False)
    >>> sorted(df["method"].unique())
    ['backdoor-adjusted', 'plain']
    """
    if not seeds:
        raise ValueError("seeds must not be empty")
    rows = []
    for seed in tqdm(seeds, desc="seeds", disable=not progress):
        train = make_context_images(n_train, bias, seed=seed)
        confounded = make_context_images(n_test, bias, seed=10_000 + seed)
        intervened = make_context_images(n_test, 1.0 / N_CLASSES, seed=20_000 + seed)
        for method, weights in (("plain", None), ("backdoor-adjusted", backdoor_weights(train.y, train.z))):
            model = train_classifier(train, weights, epochs=epochs, seed=seed, channels=channels, device=device)
            rows.append({"seed": seed, "method": method,
                         "confounded test": accuracy(model, confounded, device),
                         "intervened test": accuracy(model, intervened, device)})
    return pd.DataFrame(rows)
