r"""Context shortcuts in a CNN, and training weighted towards :math:`do(z)` (the chapter 2 lab).

Each image shows a class object :math:`y` (one of four glyphs) on a context :math:`z` (one of four background
colours). In training the context is confounded with the class: :math:`P(z = y) = \text{bias}`. On the
*intervened* test set the context is assigned at random, :math:`do(z)`, so a classifier that reads the colour
fails there.

**Inverse-probability weighting (IPW) towards** :math:`do(z)`. Each training image gets the weight

.. math:: w(y, z) = \frac{P(z)}{P(z \mid y)} = \frac{P(y)\, P(z)}{P(y, z)},

so the weighted joint distribution of class and context is :math:`P(y)\,P(z)`: the two are independent, as if
the context had been assigned at random from its marginal. The weighted training loss is therefore an unbiased
estimate of the expected loss under the intervened distribution
:math:`P_{do(z)}(x, y) = \sum_z P(z)\, P(y)\, P(x \mid y, z)`, and training estimates the classifier that is best
*there*: :math:`P(y \mid x)` in the world where the context carries no information about the class. This is the
"backdoor-adjusted training" of the course brief: stratify by context, weight by the context prior. It needs the
context label :math:`z` of every training image, and it fails where a (class, context) pair never occurs
(positivity: :math:`P(z \mid y) = 0` leaves nothing to weight up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int, check_probability
from .coloured_images import colourise, confounded_colours

N_CLASSES = 4
SIZE = 16
GLYPH = 8
#: The two training methods the lab compares.
METHODS = ("plain", "IPW towards do(z)")


def _glyphs() -> torch.Tensor:
    g = torch.zeros(N_CLASSES, GLYPH, GLYPH)
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

    def to(self, device: torch.device | str) -> "ContextImages":
        """The same images on ``device`` (moved once, before training or evaluation)."""
        return ContextImages(self.images.to(device), self.y.to(device), self.z.to(device))


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
    seed = check_positive_int(seed, "seed", minimum=0)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < math.inf:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(N_CLASSES, (n,), generator=gen)
    z = confounded_colours(y, bias, N_CLASSES, gen)
    # Paste each glyph at a random offset: every image's 8 x 8 window of a 16 x 16 canvas, gathered at once.
    offsets = torch.randint(0, SIZE - GLYPH + 1, (n, 2), generator=gen)
    rows = (offsets[:, :1] + torch.arange(GLYPH))[:, :, None]  # (n, 8, 1)
    cols = (offsets[:, 1:] + torch.arange(GLYPH))[:, None, :]  # (n, 1, 8)
    shapes = torch.zeros(n, SIZE, SIZE)
    shapes[torch.arange(n)[:, None, None], rows, cols] = _glyphs()[y]
    images = colourise(shapes, z, "background")
    images = images + noise * torch.randn(images.shape, generator=gen)
    return ContextImages(images, y, z)


def ipw_weights(y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""Inverse-probability weights :math:`P(z) / P(z \mid y)` towards :math:`do(z)`, estimated from the
    training set's counts (their mean is 1).

    Examples
    --------
    >>> w = ipw_weights(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]))
    >>> [round(v, 3) for v in w.tolist()]
    [0.75, 0.75, 1.5, 0.5]
    """
    for name, v in (("y", y), ("z", z)):
        if not isinstance(v, torch.Tensor) or v.ndim != 1 or len(v) == 0 or v.is_floating_point():
            raise ValueError(f"{name} must be a non-empty 1-D integer tensor of classes")
        if int(v.min()) < 0:
            raise ValueError(f"{name} must hold non-negative class indices")
    if y.shape != z.shape:
        raise ValueError(f"y and z must have the same length, got {len(y)} and {len(z)}")
    k = int(max(y.max(), z.max())) + 1
    joint = torch.zeros(k, k)
    joint.index_put_((y.cpu(), z.cpu()), torch.ones(len(y)), accumulate=True)
    p_z = joint.sum(0) / len(y)
    p_z_given_y = joint / joint.sum(1, keepdim=True).clamp_min(1)
    return (p_z[z.cpu()] / p_z_given_y[y.cpu(), z.cpu()]).to(y.device)


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head.

    Examples
    --------
    >>> SmallCNN()(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 4])
    """

    def __init__(self, channels: int = 16, n_classes: int = N_CLASSES) -> None:
        super().__init__()
        channels = check_positive_int(channels, "channels")
        n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the lab prints it beside each result).

    Examples
    --------
    >>> n_parameters(SmallCNN(16))  # 3*16*9+16 + 16*32*9+32 + 32*4+4
    5220
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_classifier(data: ContextImages, weights: torch.Tensor | None = None, steps: int = 300,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0, channels: int = 16,
                     device: torch.device | str = "cpu", progress: bool = False) -> SmallCNN:
    """Train :class:`SmallCNN` by cross-entropy for ``steps`` minibatches drawn with replacement in proportion
    to ``weights`` (uniformly if ``None``).

    Weights enter through sampling rather than the loss: the same expected gradient with far less variance when
    a few rare (class, context) pairs carry large weights. The images go to ``device`` once, and every step's
    indices are drawn before the loop and moved once.

    Examples
    --------
    >>> model = train_classifier(make_context_images(64, 0.9), steps=2)
    >>> isinstance(model, SmallCNN), model.training
    (True, False)
    """
    if not isinstance(data, ContextImages):
        raise TypeError(f"data must be ContextImages, got {type(data).__name__}")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if weights is not None:
        if not isinstance(weights, torch.Tensor) or weights.shape != data.y.shape:
            raise ValueError(f"weights must be a tensor of shape {tuple(data.y.shape)}")
        if not torch.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
    torch.manual_seed(seed)
    model = SmallCNN(channels).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    on_device = data.to(device)
    probs = weights.detach().float().cpu() if weights is not None else torch.ones(len(data.y))
    gen = torch.Generator().manual_seed(seed)
    batches = torch.multinomial(probs, steps * batch_size, replacement=True, generator=gen)
    batches = batches.view(steps, batch_size).to(device)
    for idx in runtime.progress(batches, "training", progress):
        loss = F.cross_entropy(model(on_device.images[idx]), on_device.y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _predict(model: nn.Module, data: ContextImages, device: torch.device | str) -> torch.Tensor:
    if not isinstance(data, ContextImages):
        raise TypeError(f"data must be ContextImages, got {type(data).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    images = data.images.to(device)
    with torch.inference_mode():
        return torch.cat([model(chunk).argmax(1) for chunk in images.split(8192)]).cpu()


def accuracy(model: nn.Module, data: ContextImages, device: torch.device | str = "cpu") -> float:
    """Share of images whose class is predicted correctly (evaluated under ``torch.inference_mode``).

    Examples
    --------
    >>> 0.0 <= accuracy(SmallCNN(), make_context_images(32, 0.25)) <= 1.0
    True
    """
    return float((_predict(model, data, device) == data.y.cpu()).float().mean())


def colour_reading(model: nn.Module, data: ContextImages, device: torch.device | str = "cpu") -> float:
    """Share of images whose prediction is the class that the background colour stands for (:math:`\\hat y = z`).

    On the intervened set, where the colour agrees with the class in only a quarter of the images, a classifier
    that reads the glyph scores about 0.25 here and one that reads the colour about 1.

    Examples
    --------
    >>> 0.0 <= colour_reading(SmallCNN(), make_context_images(32, 0.25)) <= 1.0
    True
    """
    return float((_predict(model, data, device) == data.z.cpu()).float().mean())


def context_experiment(n_train: int, bias: float, seeds: list[int], steps: int = 300, batch_size: int = 64,
                       n_test: int = 2_000, lr: float = 3e-3, device: torch.device | str = "cpu",
                       channels: int = 16, progress: bool = True) -> pd.DataFrame:
    """Plain versus IPW training at the same budget (model, steps, batch size), tested on a confounded and an
    intervened set; one row per seed and method.

    Columns: ``seed``, ``method``, ``parameters``, ``steps``, ``batch size``, ``confounded test``,
    ``intervened test`` (accuracies) and ``reads the colour`` (:func:`colour_reading` on the intervened set).

    Examples
    --------
    >>> df = context_experiment(200, 0.9, seeds=[0], steps=2, n_test=50, progress=False)
    >>> df["method"].tolist(), df["steps"].tolist()
    (['plain', 'IPW towards do(z)'], [2, 2])
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__") or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty list of integers")
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in seeds]
    n_train = check_positive_int(n_train, "n_train")
    n_test = check_positive_int(n_test, "n_test")
    bias = check_probability(bias, "bias")
    rows = []
    for seed in runtime.progress(seeds, "seeds", progress):
        train = make_context_images(n_train, bias, seed=seed).to(device)  # moved once for both methods
        confounded = make_context_images(n_test, bias, seed=10_000 + seed).to(device)
        intervened = make_context_images(n_test, 1.0 / N_CLASSES, seed=20_000 + seed).to(device)
        for method, weights in zip(METHODS, (None, ipw_weights(train.y, train.z))):
            model = train_classifier(train, weights, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                     channels=channels, device=device)
            on_intervened = _predict(model, intervened, device)  # one pass serves both of its metrics
            rows.append({"seed": seed, "method": method, "parameters": n_parameters(model), "steps": steps,
                         "batch size": batch_size,
                         "confounded test": accuracy(model, confounded, device),
                         "intervened test": float((on_intervened == intervened.y.cpu()).float().mean()),
                         "reads the colour": float((on_intervened == intervened.z.cpu()).float().mean())})
    return pd.DataFrame(rows)
