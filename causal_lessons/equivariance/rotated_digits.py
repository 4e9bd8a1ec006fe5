r"""Rotated digits: a CNN, the same CNN trained with rotation augmentation, and :math:`C_4` and :math:`D_4`
G-CNNs, at matched parameter counts and equal training budgets, trained on upright digits and tested on every
rotation of held-out digits (the chapter 3 experiment and lab).

Digits are scikit-learn's bundled 8x8 images (no download), padded or upsampled to an odd side, so that
rotations map the pixel grid onto itself about its centre pixel.

The protocol of :func:`compare`, the same for every model: per seed, a shuffle of the 1,797 digits into a
training set of ``size`` digits, a validation set and a test set; Adam with a one-cycle learning rate for a
fixed number of steps (the *budget*); the checkpoint with the lowest validation loss is kept (validation digits
are drawn like the model's training digits: rotated for the augmented CNN, upright otherwise). Each model
family's width is chosen so that its parameter count is the closest to a common target
(:func:`matched_widths`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int
from ..formatting import number, scientific
from .fitted import fit_map, map_error
from .group_conv import (
    C4_ON_IMAGES,
    Action,
    C4InvariantCNN,
    D4InvariantCNN,
    InvariantCNN,
    PlainCNN,
    _GroupConvolution,
    _pool,
    check_tensor,
    parameter_count,
    regular_action,
)

#: Side of the digit images of :func:`load_digit_images` (odd, so that rotations fix the centre pixel).
SIZE = 17
#: The models compared; the two CNNs share an architecture.
MODELS = ("CNN", "CNN + rotation augmentation", "G-CNN (C4)", "G-CNN (D4)")
_FAMILIES = {"CNN": PlainCNN, "CNN + rotation augmentation": PlainCNN, "G-CNN (C4)": C4InvariantCNN,
             "G-CNN (D4)": D4InvariantCNN}


def digit_images(side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ``(N, 1, side, side)`` floats in [0, 1] and their labels ``(N,)``.

    The 8x8 originals are upsampled (bilinear) to ``side - 1`` pixels when ``side > 9`` and padded by one row
    and one column of zeros, so that ``side`` is odd.

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> tuple(x.shape), float(x[..., -1, :].abs().sum())
    ((1797, 1, 9, 9), 0.0)
    """
    side = check_positive_int(side, "side")
    if side < 9 or side % 2 == 0:
        raise ValueError(f"side must be odd and at least 9 (8x8 digits plus one row of padding), got {side}")
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    if side > 9:
        images = F.interpolate(images, size=(side - 1, side - 1), mode="bilinear", align_corners=False)
    return F.pad(images, (0, 1, 0, 1)), torch.tensor(digits.target, dtype=torch.long)


def load_digit_images() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ``(N, 1, 17, 17)`` floats in [0, 1] and their labels ``(N,)``: :func:`digit_images`
    at :data:`SIZE` (chapter 4 reuses it).

    Examples
    --------
    >>> x, y = load_digit_images()
    >>> tuple(x.shape), int(y.max())
    ((1797, 1, 17, 17), 9)
    """
    return digit_images(SIZE)


def _check_images(images: object, name: str = "images") -> torch.Tensor:
    images = check_tensor(images, name, 4, "(N, C, H, H)")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"{name} must have shape (N, C, H, H) (square), got {tuple(images.shape)}")
    return images


def _check_labels(labels: object, images: torch.Tensor, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(f"{name} must be a torch.long tensor of class indices, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{name} must have shape ({len(images)},), one class per image, got {tuple(labels.shape)}")
    return labels


def rotate_randomly(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Rotate each image by an independent random multiple of 90 degrees (on the images' device).

    Examples
    --------
    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2).repeat(3, 1, 1, 1)
    >>> [torch.equal(r, x[0]) for r in rotate_randomly(x, seed=1)].count(False) >= 1
    True
    """
    images = _check_images(images)
    gen = torch.Generator().manual_seed(check_positive_int(seed, "seed", minimum=0))
    turns = torch.randint(4, (len(images),), generator=gen).to(images.device)
    every = torch.stack([torch.rot90(images, r, dims=(-2, -1)) for r in range(4)])
    return every[turns, torch.arange(len(images), device=images.device)]


def orbit(images: torch.Tensor) -> torch.Tensor:
    """The four rotations of every image, ``(4, N, C, H, W)`` (``[r]`` is turned by ``r`` quarter turns).

    Examples
    --------
    >>> orbit(torch.zeros(2, 1, 5, 5)).shape
    torch.Size([4, 2, 1, 5, 5])
    """
    images = _check_images(images)
    return torch.stack([torch.rot90(images, r, dims=(-2, -1)) for r in range(4)])


def make_model(name: str, width: int = 8, depth: int = 3) -> nn.Module:
    """One of :data:`MODELS`: ``width`` is the number of maps per layer of a CNN, and of maps per group element
    of a G-CNN.

    Examples
    --------
    >>> type(make_model("G-CNN (D4)")).__name__
    'D4InvariantCNN'
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"name must be one of {MODELS}, got {name!r}")
    width, depth = check_positive_int(width, "width"), check_positive_int(depth, "depth")
    family = _FAMILIES[name]
    if family is PlainCNN:
        return PlainCNN(1, 10, width=width, depth=depth)
    return family(1, 10, channels=width, depth=depth)


def matched_widths(parameters: int, depth: int = 3) -> dict[str, int]:
    """For each of :data:`MODELS`, the width whose parameter count is the closest to ``parameters``.

    A G-CNN layer with ``c`` maps per group element has :math:`|G| c^2 k^2` weights, a CNN layer of width
    ``w`` has :math:`w^2 k^2`: at equal parameters a :math:`C_4` G-CNN has half the CNN's width per element
    (but twice its maps, and four times its multiply-adds).

    Examples
    --------
    >>> matched_widths(5_000)
    {'CNN': 16, 'CNN + rotation augmentation': 16, 'G-CNN (C4)': 8, 'G-CNN (D4)': 6}
    """
    parameters = check_positive_int(parameters, "parameters")
    depth = check_positive_int(depth, "depth")
    widths = {}
    with torch.device("meta"):
        for name in MODELS:
            counts: dict[int, int] = {}
            for w in range(1, 1_025):  # counts grow with the width: stop once past the target
                counts[w] = parameter_count(make_model(name, w, depth))
                if counts[w] >= parameters:
                    break
            widths[name] = min(counts, key=lambda w: (abs(counts[w] - parameters), w))
    return widths


@dataclass
class Trained:
    """A model trained by :func:`train`, in evaluation mode with its best checkpoint loaded.

    Attributes
    ----------
    model
        The network.
    steps
        The budget: optimisation steps taken.
    best_step
        The step whose checkpoint had the lowest validation loss (kept).
    val_loss
        That lowest validation loss.
    """

    model: nn.Module
    steps: int
    best_step: int
    val_loss: float


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, val_images: torch.Tensor,
          val_labels: torch.Tensor, steps: int = 300, batch_size: int = 64, lr: float = 1e-2,
          augment: bool = False, seed: int = 0, eval_every: int = 25,
          device: torch.device | str = "cpu") -> Trained:
    """Adam on cross-entropy with a one-cycle learning rate (peak ``lr``) for ``steps`` steps; every
    ``eval_every`` steps and at the end, the validation loss decides which checkpoint is kept. With
    ``augment``, every batch is rotated randomly. The data move to ``device`` once.

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> fit = train(make_model("CNN", 4), x[:32], y[:32], x[32:64], y[32:64], steps=2, eval_every=1)
    >>> fit.steps, fit.best_step in (1, 2), fit.model.training
    (2, True, False)
    """
    model = _check_model(model)
    images, val_images = _check_images(images), _check_images(val_images, "val_images")
    labels, val_labels = _check_labels(labels, images), _check_labels(val_labels, val_images, "val_labels")
    steps, batch_size = check_positive_int(steps, "steps"), check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise ValueError(f"lr must be a learning rate in (0, 1), got {lr!r}")
    torch.manual_seed(check_positive_int(seed, "seed", minimum=0))
    model = model.to(device)
    images, labels = images.to(device), labels.to(device)
    val_images, val_labels = val_images.to(device), val_labels.to(device)
    if augment:
        val_images = rotate_randomly(val_images, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    best = (float("inf"), 0, None)
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randint(len(images), (min(batch_size, len(images)),), generator=gen).to(device)
        batch = rotate_randomly(images[idx], seed=seed * 100_003 + step) if augment else images[idx]
        loss = F.cross_entropy(model(batch), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % eval_every == 0 or step == steps:
            val_loss = _loss(model, val_images, val_labels)
            if val_loss < best[0]:
                best = (val_loss, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    return Trained(model.eval(), steps, best[1], best[0])


def _stacked_norm(norms: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Batch normalisation of ``len(norms)`` models' maps stacked along the channels: each model's channels are
    normalised by their own statistics, and in training mode each model's running statistics are updated as
    its own layer would update them."""
    first = norms[0]
    mean = torch.cat([n.running_mean for n in norms])
    var = torch.cat([n.running_var for n in norms])
    out = F.batch_norm(x, mean, var, torch.cat([n.weight for n in norms]), torch.cat([n.bias for n in norms]),
                       first.training, first.momentum, first.eps)
    if first.training:
        with torch.no_grad():
            for n, m, v in zip(norms, mean.chunk(len(norms)), var.chunk(len(norms)), strict=True):
                n.running_mean.copy_(m)
                n.running_var.copy_(v)
                n.num_batches_tracked += 1
    return out


def stacked_logits(models: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """The logits of several networks of one family and width, each on its own batch, in one pass: ``x`` is
    ``(S, B, C, H, W)`` (batch ``s`` for model ``s``), the result ``(S, B, classes)``.

    Every layer is one grouped ``conv2d`` (``groups = S``), so model ``s`` sees only its own channels: the
    arithmetic is that of running each model alone (batch statistics included), in a fraction of the time for
    small networks, whose cost is mostly the overhead of each call.

    Examples
    --------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> nets = [make_model("G-CNN (C4)", 3) for _ in range(2)]
    >>> x = torch.randn(2, 5, 1, 9, 9)
    >>> alone = torch.stack([net(part) for net, part in zip(nets, x)])
    >>> bool(torch.allclose(stacked_logits(nets, x), alone, atol=1e-5))
    True
    """
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError("models must be a non-empty list of networks of one family")
    first = models[0]
    if not all(type(m) is type(first) and isinstance(m, (PlainCNN, InvariantCNN)) for m in models):
        raise TypeError("models must all be PlainCNN or all the same InvariantCNN")
    shapes = [tuple(p.shape for p in m.parameters()) for m in models]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("models must have the same width and depth")
    x = check_tensor(x, "x", 5, "(S, B, C, H, W)")
    if x.shape[0] != len(models):
        raise ValueError(f"x must hold one batch per model (S = {len(models)}), got {x.shape[0]}")
    count = len(models)
    h = x.transpose(0, 1).flatten(1, 2)
    for i, layer in enumerate(first.layers):
        if i:
            h = _pool(h)
        group = [m.layers[i] for m in models]
        if isinstance(layer, _GroupConvolution):
            weight = torch.cat([g.expanded_filters() for g in group])
            out = F.conv2d(h.flatten(1, 2) if h.ndim == 5 else h, weight, padding=layer.kernel_size // 2,
                           groups=count)
            out = out.unflatten(1, (count * layer.out_channels, layer.order))
            out = out + torch.cat([g.bias for g in group])[None, :, None, None, None]
        else:
            out = F.conv2d(h, torch.cat([g.weight for g in group]), torch.cat([g.bias for g in group]),
                           padding=layer.padding, groups=count)
        h = F.relu(_stacked_norm([m.norms[i] for m in models], out))
    pooled = (h.amax(dim=2) if h.ndim == 5 else h).mean(dim=(-2, -1))
    pooled = pooled.unflatten(1, (count, -1)).transpose(0, 1)
    weight = torch.stack([m.head.weight for m in models])
    bias = torch.stack([m.head.bias for m in models])
    return torch.einsum("sbc,skc->sbk", pooled, weight) + bias[:, None]


def train_seeds(models: list[nn.Module], images: torch.Tensor, labels: torch.Tensor, train_sets: list[torch.Tensor],
                val_sets: list[torch.Tensor], seeds: list[int], steps: int = 300, batch_size: int = 64,
                lr: float = 1e-2, augment: bool = False, eval_every: int = 25,
                device: torch.device | str = "cpu") -> list[Trained]:
    """:func:`train` for one model per seed, all at once (:func:`stacked_logits`): model ``s`` is trained on
    the digits ``train_sets[s]`` with seed ``seeds[s]`` (its batches, its augmentation) and keeps the checkpoint
    with the lowest loss on ``val_sets[s]``. The summed loss gives each model its own gradient, and Adam acts
    element by element, so each model follows the path :func:`train` would give it alone (up to float
    rounding).

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> nets = [make_model("CNN", 4) for _ in range(2)]
    >>> sets = [torch.arange(32), torch.arange(32, 64)]
    >>> fits = train_seeds(nets, x, y, sets, [torch.arange(64, 96)] * 2, [0, 1], steps=2, eval_every=1)
    >>> [fit.steps for fit in fits], fits[0].model.training
    ([2, 2], False)
    """
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError("models must be a non-empty list of networks")
    count = len(models)
    for name, value in (("train_sets", train_sets), ("val_sets", val_sets), ("seeds", seeds)):
        if not isinstance(value, (list, tuple)) or len(value) != count:
            raise ValueError(f"{name} must be a list with one entry per model ({count}), got {value!r}")
    if len({len(t) for t in train_sets}) != 1 or len({len(v) for v in val_sets}) != 1:
        raise ValueError("train_sets (and val_sets) must have the same size for every model")
    images = _check_images(images)
    labels = _check_labels(labels, images)
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in seeds]
    steps, batch_size = check_positive_int(steps, "steps"), check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise ValueError(f"lr must be a learning rate in (0, 1), got {lr!r}")
    models = [_check_model(m).to(device) for m in models]
    images, labels = images.to(device), labels.to(device)
    train_x = [images[t.to(device)] for t in train_sets]
    train_y = [labels[t.to(device)] for t in train_sets]
    val_x = [images[v.to(device)] for v in val_sets]
    if augment:
        val_x = [rotate_randomly(v, seed=seed) for v, seed in zip(val_x, seeds, strict=True)]
    val_x, val_y = torch.stack(val_x), torch.stack([labels[v.to(device)] for v in val_sets])
    params = [p for m in models for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr, foreach=True)  # one fused update for all the seeds' tensors
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gens = [torch.Generator().manual_seed(seed) for seed in seeds]
    n, batch = len(train_x[0]), min(batch_size, len(train_x[0]))
    best: list[tuple[float, int, dict | None]] = [(float("inf"), 0, None)] * count
    for step in range(1, steps + 1):
        for m in models:
            m.train()
        picks = [torch.randint(n, (batch,), generator=g).to(device) for g in gens]
        xs = [x[i] for x, i in zip(train_x, picks, strict=True)]
        if augment:
            xs = [rotate_randomly(x, seed=seed * 100_003 + step) for x, seed in zip(xs, seeds, strict=True)]
        ys = torch.stack([y[i] for y, i in zip(train_y, picks, strict=True)])
        logits = stacked_logits(models, torch.stack(xs))
        loss = F.cross_entropy(logits.flatten(0, 1), ys.flatten(), reduction="none").view(count, -1).mean(1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % eval_every == 0 or step == steps:
            for m in models:
                m.eval()
            with torch.no_grad():
                val_logits = stacked_logits(models, val_x)
            losses = F.cross_entropy(val_logits.flatten(0, 1), val_y.flatten(), reduction="none")
            for k, value in enumerate(losses.view(count, -1).mean(1).tolist()):
                if value < best[k][0]:
                    state = {key: v.detach().clone() for key, v in models[k].state_dict().items()}
                    best[k] = (value, step, state)
    fits = []
    for m, (value, step, state) in zip(models, best, strict=True):
        m.load_state_dict(state)
        fits.append(Trained(m.eval(), steps, step, value))
    return fits


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    return model


@torch.no_grad()
def _predict(model: nn.Module, images: torch.Tensor, chunk: int = 2_048) -> torch.Tensor:
    _check_model(model).eval()
    return torch.cat([model(part) for part in images.split(chunk)])


def _loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float(F.cross_entropy(_predict(model, images), labels))


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of correct predictions (evaluated without gradients on the images' device).

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> 0.0 <= accuracy(make_model("CNN", 2), x[:10], y[:10]) <= 1.0
    True
    """
    model, images = _check_model(model), _check_images(images)
    labels = _check_labels(labels, images)
    return float((_predict(model, images).argmax(1) == labels.to(images.device)).float().mean())


def orbit_scores(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy on the upright digits, on all four rotations of each digit (``"rotated"``), and the share of
    digits whose four rotations get one and the same predicted class (``"agreement"``: 1 for an invariant
    classifier).

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> scores = orbit_scores(make_model("G-CNN (C4)", 2), x[:20], y[:20])
    >>> scores["agreement"]
    1.0
    """
    model, images = _check_model(model), _check_images(images)
    labels = _check_labels(labels, images).to(images.device)
    turns = orbit(images)
    preds = _predict(model, turns.flatten(0, 1)).argmax(1).view(4, len(images))
    return {"upright": float((preds[0] == labels).float().mean()),
            "rotated": float((preds == labels).float().mean()),
            "agreement": float((preds == preds[0]).all(0).float().mean())}


def split(n: int, size: int, n_val: int, n_test: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Indices of the training (``size``), validation (``n_val``) and test (``n_test``) digits of one seed:
    disjoint slices of a seeded shuffle of ``range(n)``.

    Examples
    --------
    >>> [len(part) for part in split(100, 50, 20, 30, seed=0)]
    [50, 20, 30]
    """
    n, size = check_positive_int(n, "n"), check_positive_int(size, "size")
    n_val, n_test = check_positive_int(n_val, "n_val"), check_positive_int(n_test, "n_test")
    if size + n_val + n_test > n:
        raise ValueError(f"size + n_val + n_test must not exceed the {n} digits, got {size + n_val + n_test}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(check_positive_int(seed, "seed", minimum=0)))
    return order[:size], order[n - n_test - n_val: n - n_test], order[n - n_test:]


@dataclass
class Comparison:
    """What :func:`compare` returns.

    Attributes
    ----------
    runs
        One row per seed, training-set size and model: width, parameters, budget (steps), best step, upright
        and rotated test accuracy, orbit agreement.
    models
        The trained networks at the largest size, ``{(seed, model name): network}`` (on the CPU).
    test
        The test digits' indices of each seed, ``{seed: indices}``.
    """

    runs: pd.DataFrame
    models: dict[tuple[int, str], nn.Module]
    test: dict[int, torch.Tensor]


def compare(sizes: list[int], seeds: list[int], parameters: int, steps: int, side: int = 9, depth: int = 3,
            batch_size: int = 64, lr: float = 1e-2, eval_every: int = 25, n_val: int = 300, n_test: int = 500,
            device: torch.device | str = "cpu", workers: int = 1, progress: bool = True,
            matched_steps: int | None = None, aug_matched_steps: int | None = None) -> Comparison:
    """Train every model of :data:`MODELS` at matched parameters (:func:`matched_widths`) with the same budget
    (``steps``) on ``size`` upright digits per seed; test on the upright and rotated test digits. With
    ``matched_steps``, also the :math:`C_4` G-CNN for that many steps (named :data:`MATCHED`): the budget at
    which it spends the CNN's compute. With ``aug_matched_steps``, also the augmented CNN for that many steps
    (named :data:`AUG_MATCHED`): the budget at which it spends the :math:`C_4` G-CNN's compute.

    Each model is trained for all seeds at once (:func:`train_seeds`); the (size, model) jobs are independent:
    with ``workers > 1`` (CPU only) they run in that many processes (joblib gives each one thread), with the same
    results as one after another.

    Examples
    --------
    >>> out = compare([20], [0, 1], parameters=800, steps=2, n_val=20, n_test=20, progress=False, matched_steps=1)
    >>> sorted(out.runs.columns)[:4], len(out.runs), len(out.models)
    (['agreement', 'best step', 'model', 'parameters'], 10, 10)
    """
    sizes = [check_positive_int(s, "sizes") for s in _nonempty(sizes, "sizes")]
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in _nonempty(seeds, "seeds")]
    workers = check_positive_int(workers, "workers")
    if workers > 1 and torch.device(device).type != "cpu":
        raise ValueError(f"workers > 1 runs processes on the CPU; on {device} use workers=1")
    config = {"parameters": check_positive_int(parameters, "parameters"), "steps": check_positive_int(steps, "steps"),
              "side": side, "depth": depth, "batch_size": batch_size, "lr": lr, "eval_every": eval_every,
              "n_val": n_val, "n_test": n_test}
    split(len(digit_images(side)[0]), max(sizes), n_val, n_test, seeds[0])  # checks the sizes fit the data
    jobs = [(size, name, config["steps"]) for size in sizes for name in MODELS]
    if matched_steps is not None:
        jobs += [(size, MATCHED, check_positive_int(matched_steps, "matched_steps")) for size in sizes]
    if aug_matched_steps is not None:
        jobs += [(size, AUG_MATCHED, check_positive_int(aug_matched_steps, "aug_matched_steps")) for size in sizes]
    # The most expensive jobs first, so that parallel workers finish together.
    jobs.sort(key=lambda job: -_COST[job[1]] * job[2])
    if workers > 1:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=workers)(delayed(_fit_group)(*job, seeds, config, "cpu") for job in jobs)
    else:
        done = [_fit_group(*job, seeds, config, device) for job in runtime.progress(jobs, "training", progress)]
    runs = [run for group in done for run in group]
    runs.sort(key=lambda run: (run[0]["seed"], run[0]["size"], _ORDER.index(run[0]["model"])))
    largest = max(sizes)
    models = {(row["seed"], row["model"]): model for row, model, _ in runs if row["size"] == largest}
    tests = {row["seed"]: test for row, _, test in runs if row["size"] == largest}
    return Comparison(pd.DataFrame([row for row, _, _ in runs]), models, tests)


#: The :math:`C_4` G-CNN trained at the CNN's compute (fewer steps), in :func:`compare` with ``matched_steps``.
MATCHED = "G-CNN (C4), CNN's compute"
#: The augmented CNN trained at the :math:`C_4` G-CNN's compute (more steps), in :func:`compare` with
#: ``aug_matched_steps``.
AUG_MATCHED = "CNN + augmentation, C4's compute"
_ORDER = (*MODELS, MATCHED, AUG_MATCHED)
_COST = {"CNN": 1, "CNN + rotation augmentation": 1, "G-CNN (C4)": 2, "G-CNN (D4)": 2.5, MATCHED: 2, AUG_MATCHED: 1}


def _fit_group(size: int, name: str, steps: int, seeds: list[int], config: dict, device: torch.device | str
               ) -> list[tuple[dict, nn.Module, torch.Tensor]]:
    """One job of :func:`compare`: model ``name`` trained for every seed at once; per seed its table row, the
    trained network (on the CPU) and its test digits."""
    images, labels = _device_digits(config["side"], str(device))
    family = {MATCHED: "G-CNN (C4)", AUG_MATCHED: "CNN + rotation augmentation"}.get(name, name)
    width = matched_widths(config["parameters"], config["depth"])[family]
    splits = [split(len(images), size, config["n_val"], config["n_test"], seed) for seed in seeds]
    nets = []
    for seed in seeds:
        torch.manual_seed(seed)
        nets.append(make_model(family, width, config["depth"]))
    fits = train_seeds(nets, images, labels, [t for t, _, _ in splits], [v for _, v, _ in splits], seeds,
                       steps=steps, batch_size=config["batch_size"], lr=config["lr"],
                       augment=family == "CNN + rotation augmentation", eval_every=config["eval_every"],
                       device=images.device)
    out = []
    for seed, fit, (_, _, test_idx) in zip(seeds, fits, splits, strict=True):
        test_idx = test_idx.to(images.device)
        scores = orbit_scores(fit.model, images[test_idx], labels[test_idx])
        row = {"seed": seed, "size": size, "model": name, "width": width, "parameters": parameter_count(fit.model),
               "steps": fit.steps, "best step": fit.best_step, "upright test": scores["upright"],
               "rotated test": scores["rotated"], "agreement": scores["agreement"]}
        out.append((row, fit.model.cpu(), test_idx.cpu()))
    return out


@functools.lru_cache(maxsize=4)
def _device_digits(side: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits at ``side``, moved to ``device`` once per process (every run reads slices of them)."""
    images, labels = digit_images(side)
    return images.to(device), labels.to(device)


def _nonempty(values: object, name: str) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, range, np.ndarray)):
        raise TypeError(f"{name} must be a list of integers, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(values)


def layer_errors(model: nn.Module, x_fit: torch.Tensor, x_test: torch.Tensor) -> pd.DataFrame:
    """Each layer's equivariance error, with the output representation fixed and fitted.

    A G-CNN is measured under its own group (:math:`C_4` or :math:`D_4`), a CNN under the rotations
    :math:`C_4` it was (or was not) taught. ``fixed``:
    :func:`~causal_lessons.equivariance.group_conv.equivariance_error` with the representation known in advance
    (the identity on channels for a CNN, the regular representation for a G-CNN); ``fitted``:
    :func:`~causal_lessons.equivariance.fitted.fitted_equivariance_error` (Lenc and Vedaldi), channel maps
    fitted on ``x_fit`` and the error measured on ``x_test``.

    Examples
    --------
    >>> x, _ = digit_images(9)
    >>> errors = layer_errors(make_model("G-CNN (D4)", 2).eval(), x[:40], x[40:60])
    >>> list(errors.columns), bool(errors[["fixed", "fitted"]].max().max() < 1e-5)
    (['layer', 'fixed', 'fitted'], True)
    """
    if not isinstance(model, (PlainCNN, InvariantCNN)):
        raise TypeError(f"model must be a PlainCNN or an InvariantCNN, got {type(model).__name__}")
    x_fit, x_test = _check_images(x_fit, "x_fit"), _check_images(x_test, "x_test")
    model = model.cpu().eval()
    if isinstance(model, InvariantCNN):
        act_in, act_out = Action(model.group, model.group.act, "the image"), regular_action(model.group)
    else:
        act_in = act_out = C4_ON_IMAGES
    with torch.no_grad():
        # Every layer's maps of every transformed input, computed once and shared by both measures.
        fit = {g: model.features(act_in.act(g, x_fit)) for g in act_in.group.elements}
        test = {g: model.features(act_in.act(g, x_test)) for g in act_in.group.elements}
    e = act_in.group.identity
    rows = []
    for i in range(len(model.layers)):
        norm = float(test[e][i].double().norm())
        if norm == 0:
            raise ValueError(f"layer {i + 1} is zero on x_test: its relative error is undefined")
        fixed, fitted = [], []
        for g in act_in.group.elements:
            fixed.append(float((test[g][i] - act_out.act(g, test[e][i])).double().norm()) / norm)
            m = fit_map(act_in.group.act(g, fit[e][i]), fit[g][i])
            fitted.append(map_error(m, act_in.group.act(g, test[e][i]), test[g][i]) / norm)
        rows.append({"layer": i + 1, "fixed": max(fixed), "fitted": max(fitted)})
    return pd.DataFrame(rows)


def upside_down_reading(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, int]:
    """How a model reads the 6s and 9s among ``images`` turned upside down: how many there are (``"n"``) and
    how many it reads as the *other* digit (``"other"``), as a person would.

    Examples
    --------
    >>> x, y = digit_images(9)
    >>> upside_down_reading(make_model("CNN", 2), x[:100], y[:100])["n"]
    20
    """
    model, images = _check_model(model), _check_images(images)
    labels = _check_labels(labels, images).to(images.device)
    chosen = (labels == 6) | (labels == 9)
    if not bool(chosen.any()):
        raise ValueError("images must contain at least one 6 or 9")
    turned = torch.rot90(images[chosen], 2, dims=(-2, -1))
    preds = _predict(model, turned).argmax(1)
    return {"n": int(chosen.sum()), "other": int((preds == 15 - labels[chosen]).sum())}


def _check_runs(table: object, name: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a table from compare(...).runs, got {type(table).__name__}")
    missing = {"size", "model", "upright test", "rotated test"} - set(table.columns)
    if missing or len(table) == 0:
        raise ValueError(f"{name} must be a non-empty table from compare; missing columns {sorted(missing)}")
    numbers = table.select_dtypes("number")
    if not {"size", "upright test", "rotated test"} <= set(numbers) or not np.isfinite(numbers.to_numpy(float)).all():
        raise ValueError(f"{name} must hold finite numbers (seed, size, upright test, rotated test, ...)")
    return table


def mean_curves(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy averaged over seeds, one row per training-set size, one column per model and test set.

    Examples
    --------
    >>> rows = pd.DataFrame({"seed": [0, 1], "size": [10, 10], "model": ["CNN", "CNN"],
    ...                      "upright test": [0.5, 0.7], "rotated test": [0.2, 0.4]})
    >>> round(float(mean_curves(rows)["rotated test"].loc[10, "CNN"]), 2)
    0.3
    """
    _check_runs(results, "results")
    return results.groupby(["size", "model"])[["upright test", "rotated test"]].mean().unstack("model")


def summary(runs: pd.DataFrame, size: int | None = None) -> pd.DataFrame:
    """One row per model at one training-set size (default: the largest): parameters, budget, the median step
    of the kept checkpoint, and the mean and standard deviation over seeds of each test score.

    Examples
    --------
    >>> runs = pd.DataFrame({"seed": [0, 1], "size": [10, 10], "model": ["CNN", "CNN"], "parameters": [50, 50],
    ...                      "steps": [9, 9], "best step": [9, 6], "upright test": [0.5, 0.7],
    ...                      "rotated test": [0.2, 0.4], "agreement": [0.1, 0.1]})
    >>> row = summary(runs).iloc[0]
    >>> row["model"], int(row["seeds"]), round(float(row["rotated sd"]), 4)
    ('CNN', 2, 0.1414)
    """
    _check_runs(runs, "runs")
    size = int(runs["size"].max()) if size is None else check_positive_int(size, "size")
    at = runs[runs["size"] == size]
    if at.empty:
        raise ValueError(f"size must be one of the training-set sizes {sorted(set(runs['size']))}, got {size}")
    grouped = at.groupby("model", sort=False)
    out = grouped.agg(parameters=("parameters", "first"), steps=("steps", "first"),
                      best_step=("best step", "median"), seeds=("seed", "nunique"))
    for column in ("upright test", "rotated test", "agreement"):
        short = column.split()[0]
        out[f"{short} mean"], out[f"{short} sd"] = grouped[column].mean(), grouped[column].std(ddof=1)
    return out.rename(columns={"best_step": "best step"}).reset_index()


def plus_minus(mean: float, sd: float) -> str:
    """``mean ± sd`` to three decimals (:func:`causal_lessons.formatting.number`), or both in scientific notation
    for rounding-level numbers (a mean below 0.001), whose size is what matters. A NaN ``sd`` (one seed, at the
    smoke size) leaves the mean alone.

    Examples
    --------
    >>> plus_minus(0.9567, 0.0081), plus_minus(3.2e-7, 1.1e-7), plus_minus(0.5, float("nan"))
    ('0.957 ± 0.008', '3.2 × 10⁻⁷ ± 1.1 × 10⁻⁷', '0.500')
    >>> plus_minus(0.0, 0.0)
    '0 ± 0'
    """
    for name, value in (("mean", mean), ("sd", sd)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not np.isfinite(mean) or np.isinf(sd):
        raise ValueError(f"mean must be finite and sd finite or NaN (one seed), got {mean!r} and {sd!r}")
    tiny = abs(mean) < 1e-3
    text = scientific(mean) if tiny else number(mean, 3)
    return text if np.isnan(sd) else f"{text} ± {scientific(sd) if tiny else number(sd, 3)}"


def summary_text(runs: pd.DataFrame, size: int | None = None) -> pd.DataFrame:
    """:func:`summary` for reading: parameters with thousands separators, the budget, and each score as
    ``mean ± sd`` over seeds.

    Examples
    --------
    >>> runs = pd.DataFrame({"seed": [0, 1], "size": [10, 10], "model": ["CNN", "CNN"], "parameters": [5_066] * 2,
    ...                      "steps": [9, 9], "best step": [9, 6], "upright test": [0.5, 0.7],
    ...                      "rotated test": [0.2, 0.4], "agreement": [0.1, 0.1]})
    >>> summary_text(runs).iloc[0].astype(str).tolist()
    ['CNN', '5,066', '9', '8', '0.600 ± 0.141', '0.300 ± 0.141', '0.100 ± 0.000']
    """
    table = summary(runs, size)
    return pd.DataFrame({
        "model": table["model"],
        "parameters": table["parameters"].map(number),
        "budget (steps)": table["steps"],
        "best step": table["best step"].round().astype(int),
        "upright": [plus_minus(m, s) for m, s in zip(table["upright mean"], table["upright sd"], strict=True)],
        "rotated": [plus_minus(m, s) for m, s in zip(table["rotated mean"], table["rotated sd"], strict=True)],
        "same class in 4 poses": [plus_minus(m, s) for m, s in zip(table["agreement mean"], table["agreement sd"],
                                                                     strict=True)],
    })
