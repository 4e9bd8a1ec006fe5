r"""Rotated digits: CNN, CNN with rotation augmentation and a :math:`C_4` G-CNN, trained on upright digits and
tested on digits rotated by multiples of 90 degrees (the chapter 3 experiment and lab).

Digits are scikit-learn's bundled 8x8 images (no download), upsampled to 16x16 and padded to 17x17: an odd size,
so that rotations map the pixel grid onto itself about its centre pixel.
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_positive_int
from .group_conv import C4_ON_IMAGES, C4_ON_LIFTED, C4InvariantCNN, PlainCNN, equivariance_error

#: Side of the digit images (odd, so that rotations fix the centre pixel).
SIZE = 17
#: The three models compared.
MODELS = ("CNN", "CNN + rotation augmentation", "G-CNN (C4)")


def load_digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ``(N, 1, 17, 17)`` floats in [0, 1] and their labels ``(N,)``.

    Examples
    --------
    >>> x, y = load_digit_images()
    >>> tuple(x.shape), int(y.max())
    ((1797, 1, 17, 17), 9)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    images = F.interpolate(images, size=(16, 16), mode="bilinear", align_corners=False)
    images = F.pad(images, (0, 1, 0, 1))
    return images, torch.tensor(digits.target, dtype=torch.long)


def rotate_randomly(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Rotate each image by an independent random multiple of 90 degrees.

    Examples
    --------
    >>> rotate_randomly(torch.zeros(3, 1, 5, 5)).shape
    torch.Size([3, 1, 5, 5])
    """
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must have shape (N, C, H, H), got {tuple(images.shape)}")
    gen = torch.Generator().manual_seed(seed)
    turns = torch.randint(4, (len(images),), generator=gen)
    out = images.clone()
    for r in range(1, 4):
        mask = turns == r
        out[mask] = torch.rot90(images[mask], r, dims=(-2, -1))
    return out


def make_model(name: str, channels: int = 8, depth: int = 3) -> nn.Module:
    """One of :data:`MODELS` (the two CNNs share an architecture).

    Examples
    --------
    >>> type(make_model("G-CNN (C4)")).__name__
    'C4InvariantCNN'
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {MODELS}, got {name!r}")
    if name == "G-CNN (C4)":
        return C4InvariantCNN(1, 10, channels=channels, depth=depth)
    return PlainCNN(1, 10, channels=channels, depth=depth)


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int = 300, batch_size: int = 64,
          lr: float = 3e-3, augment: bool = False, seed: int = 0, device: torch.device | str = "cpu") -> nn.Module:
    """Adam on cross-entropy; with ``augment``, every batch is rotated randomly.

    Examples
    --------
    >>> x, y = load_digit_images()
    >>> isinstance(train(make_model("CNN", channels=2), x[:32], y[:32], steps=2), nn.Module)
    True
    """
    steps = check_positive_int(steps, "steps")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError("images and labels must be non-empty and of the same length")
    torch.manual_seed(seed)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    images, labels = images.to(device), labels.to(device)
    for step in range(steps):
        idx = torch.randint(len(images), (min(batch_size, len(images)),), generator=gen).to(device)
        batch = images[idx]
        if augment:
            batch = rotate_randomly(batch.cpu(), seed=seed * 100_003 + step).to(device)
        loss = F.cross_entropy(model(batch), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device | str = "cpu") -> float:
    """Share of correct predictions.

    Examples
    --------
    >>> x, y = load_digit_images()
    >>> 0.0 <= accuracy(make_model("CNN", channels=2), x[:10], y[:10]) <= 1.0
    True
    """
    preds = torch.cat([model(chunk.to(device)).argmax(1).cpu() for chunk in images.split(1024)])
    return float((preds == labels).float().mean())


def layer_equivariance_errors(model: nn.Module, images: torch.Tensor) -> list[float]:
    """Rotation equivariance error of each layer's feature map (a G-CNN's maps rotate and shift their rotation
    axis; a plain CNN's maps should simply rotate).

    Examples
    --------
    >>> x, _ = load_digit_images()
    >>> max(layer_equivariance_errors(make_model("G-CNN (C4)", channels=2), x[:4])) < 1e-5
    True
    """
    model = model.cpu().eval()
    act_out = C4_ON_LIFTED if isinstance(model, C4InvariantCNN) else C4_ON_IMAGES
    n_layers = len(model.layers)
    return [equivariance_error(lambda t, i=i: model.features(t)[i], images, C4_ON_IMAGES, act_out)
            for i in range(n_layers)]


def learning_curves(sizes: list[int], seeds: list[int], steps: int = 300, channels: int = 8, depth: int = 3,
                    n_test: int = 500, device: torch.device | str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Train every model of :data:`MODELS` on ``size`` upright digits per seed; test on upright and rotated digits.

    The test digits (the last ``n_test`` of a seeded shuffle) are never used for training.

    Examples
    --------
    >>> df = learning_curves([20], [0], steps=2, channels=2, n_test=20, progress=False)
    >>> sorted(df.columns)
    ['model', 'rotated test', 'seed', 'size', 'upright test']
    """
    if not sizes or not seeds:
        raise ValueError("sizes and seeds must not be empty")
    images, labels = load_digit_images()
    if max(sizes) + n_test > len(images):
        raise ValueError(f"sizes plus n_test must not exceed the {len(images)} digits")
    rows = []
    jobs = [(seed, size, name) for seed in seeds for size in sizes for name in MODELS]
    for seed, size, name in tqdm(jobs, desc="training", disable=not progress):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        test_idx, train_idx = order[-n_test:], order[:size]
        model = train(make_model(name, channels, depth), images[train_idx], labels[train_idx], steps=steps,
                      augment=name == "CNN + rotation augmentation", seed=seed, device=device)
        test_x, test_y = images[test_idx], labels[test_idx]
        rows.append({"seed": seed, "size": size, "model": name,
                     "upright test": accuracy(model, test_x, test_y, device),
                     "rotated test": accuracy(model, rotate_randomly(test_x, seed=seed), test_y, device)})
    return pd.DataFrame(rows)


def mean_curves(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy averaged over seeds, one row per training-set size, one column per model and test set.

    Examples
    --------
    >>> rows = pd.DataFrame({"seed": [0, 1], "size": [10, 10], "model": ["CNN", "CNN"],
    ...                      "upright test": [0.5, 0.7], "rotated test": [0.2, 0.4]})
    >>> round(float(mean_curves(rows)["rotated test"].loc[10, "CNN"]), 2)
    0.3
    """
    missing = {"size", "model", "upright test", "rotated test"} - set(getattr(results, "columns", []))
    if missing or len(results) == 0:
        raise ValueError(f"results must be a non-empty table from learning_curves; missing columns {sorted(missing)}")
    return results.groupby(["size", "model"])[["upright test", "rotated test"]].mean().unstack("model")
