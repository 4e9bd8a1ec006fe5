r"""Pre-training several seeds' toy CLIPs at once: the same computation as :func:`~.contrastive.pretrain` for each
seed, batched over seeds so that ten seeds cost a few times one seed rather than ten times.

The parameters of :math:`S` models of one architecture are stacked along a leading seed axis; convolutions run as
grouped convolutions (one group per seed), linear maps and the GRU's gates as batched matrix products. The loss is
the *sum* of the seeds' InfoNCE losses, so the gradient of each seed's parameters is exactly that seed's own
gradient, and Adam, which acts element by element, takes for each seed the step it would take alone. Each seed
draws its batches from its own world with its own generator, as :func:`~.contrastive.pretrain` draws them, so the
trained models agree with one-at-a-time training up to floating-point rounding (a test checks it).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .. import runtime
from .._checks import check_positive_int
from .contrastive import _check_lr, _check_model, _pool, info_nce, tokenizer
from .encoders import BagOfWords, ToyCLIP
from .scenes import World, swap_pairs
from .scores import eqsim_loss
from .vqa import ImageQuestion, QuestionOnly, VQAData


def _image(p: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """Image embeddings (not normalised) of ``images`` of shape ``(S, B, 3, H, W)``: shape ``(S, B, D)``."""
    n_seeds, batch = images.shape[:2]
    x = images.transpose(0, 1).reshape(batch, n_seeds * 3, *images.shape[3:])
    for conv in ("image.net.0", "image.net.3"):
        weight, bias = p[f"{conv}.weight"], p[f"{conv}.bias"]
        x = F.conv2d(x, weight.flatten(0, 1), bias.flatten(), padding=1, groups=n_seeds)
        x = F.max_pool2d(F.relu(x), 2)
    x = x.reshape(batch, n_seeds, -1).transpose(0, 1)
    return torch.baddbmm(p["image.net.7.bias"][:, None], x, p["image.net.7.weight"].transpose(1, 2))


def _linear(p: dict[str, torch.Tensor], name: str, x: torch.Tensor) -> torch.Tensor:
    return torch.baddbmm(p[f"{name}.bias"][:, None], x, p[f"{name}.weight"].transpose(1, 2))


def _text(p: dict[str, torch.Tensor], bag: bool, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Caption embeddings (not normalised) of ``ids`` of shape ``(S, B, L)``: shape ``(S, B, D)``."""
    table = p["text.embed.weight"]
    n_seeds, batch, length = ids.shape
    if bag:
        counts = F.one_hot(ids, table.shape[1]).sum(2).to(table.dtype)
        counts[..., 0] = 0
        mean = torch.bmm(counts, table) / lengths[..., None].to(table.dtype)
        return _linear(p, "text.mlp.2", F.relu(_linear(p, "text.mlp.0", mean)))
    words = table[torch.arange(n_seeds, device=ids.device)[:, None, None], ids]
    gates_x = torch.baddbmm(p["text.gru.bias_ih_l0"][:, None], words.flatten(1, 2),
                            p["text.gru.weight_ih_l0"].transpose(1, 2)).reshape(n_seeds, batch, length, -1)
    w_hh, b_hh = p["text.gru.weight_hh_l0"].transpose(1, 2), p["text.gru.bias_hh_l0"][:, None]
    h = words.new_zeros(n_seeds, batch, w_hh.shape[1])
    states = []
    for t in range(length):  # PyTorch's GRU: reset, update and new gates, in that order
        x_r, x_z, x_n = gates_x[:, :, t].chunk(3, -1)
        h_r, h_z, h_n = torch.baddbmm(b_hh, h, w_hh).chunk(3, -1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
        states.append(h)
    seeds = torch.arange(n_seeds, device=ids.device)[:, None]
    last = torch.stack(states, 2)[seeds, torch.arange(batch, device=ids.device)[None], lengths - 1]
    return _linear(p, "text.out", last)


def _cos_and_scale(p: dict[str, torch.Tensor], bag: bool, images: torch.Tensor, ids: torch.Tensor,
                   lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every seed's cosine similarities, shape ``(S, B, B)`` (caption rows, image columns), and logit scales
    :math:`e^\\tau`, shape ``(S,)``, from stacked parameters ``p`` (names as in :class:`~.encoders.ToyCLIP`,
    each with a leading seed axis): each model's ``forward`` returns their product."""
    scale = p["log_scale"].clamp(max=math.log(100)).exp()
    text = F.normalize(_text(p, bag, ids, lengths), dim=-1)
    image = F.normalize(_image(p, images), dim=-1)
    return text @ image.transpose(1, 2), scale


def _stack(models: list[ToyCLIP], worlds: list[World], seeds: list[int]) -> tuple[dict[str, torch.Tensor], bool]:
    """Checked inputs, stacked into one parameter per name (a leading axis over models), and whether the text
    encoder is a bag of words."""
    if isinstance(models, ToyCLIP) or not isinstance(models, (list, tuple)) or not models:
        raise TypeError("models must be a non-empty list of ToyCLIP models")
    models = [_check_model(m) for m in models]
    if not isinstance(worlds, (list, tuple)) or not all(isinstance(w, World) for w in worlds):
        raise TypeError("worlds must be a list of World, one per model")
    if not isinstance(seeds, (list, tuple)) or len(worlds) != len(models) or len(seeds) != len(models):
        raise ValueError(f"worlds and seeds must have one entry per model ({len(models)})")
    for s in seeds:
        check_positive_int(s, "seeds", minimum=0)
    shapes = [tuple(t.shape) for t in models[0].parameters()]
    bag = isinstance(models[0].text, BagOfWords)
    for m in models[1:]:
        if isinstance(m.text, BagOfWords) != bag or [tuple(t.shape) for t in m.parameters()] != shapes:
            raise ValueError("models must share one architecture (the same text encoder kind and widths)")
    names = [n for n, _ in models[0].named_parameters()]
    params = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]).requires_grad_(True)
              for n in names}
    return params, bag


def _unstack(models: list[torch.nn.Module], params: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for k, m in enumerate(models):
            for n, t in m.named_parameters():
                t.copy_(params[n][k])



def _step(opt: torch.optim.Optimizer, per_model: torch.Tensor, losses: list[list[float]]) -> None:
    """One optimiser step on the sum of the models' losses (each model's gradient is its own loss's: the parameters
    are disjoint), recording each model's loss."""
    opt.zero_grad()
    per_model.sum().backward()
    opt.step()
    for k, loss in enumerate(per_model.detach().tolist()):
        losses[k].append(loss)

def pretrain_seeds(models: list[ToyCLIP], worlds: list[World], steps: int, seeds: list[int], batch: int = 64,
                   lr: float = 3e-3, variants: int = 12) -> list[list[float]]:
    """Pre-train ``models[k]`` on ``worlds[k]`` with seed ``seeds[k]``, all at once, in place.

    Each model gets what :func:`~.contrastive.pretrain` would give it with the same arguments (up to rounding):
    the same pre-rendered pool, batches and Adam steps.

    Parameters
    ----------
    models
        Toy CLIPs of one architecture (same kind and widths), on one device.
    worlds
        One world per model (they may hold out different families).
    steps, batch, lr, variants
        As in :func:`~.contrastive.pretrain`.
    seeds
        One seed per model: it draws that model's pool and batches.

    Returns
    -------
    list of list of float
        Each model's loss at every step.

    Examples
    --------
    >>> from .contrastive import toy_clip
    >>> w = World()
    >>> models = [toy_clip(w, "order_aware", seed=s) for s in (0, 1)]
    >>> losses = pretrain_seeds(models, [w, w], steps=2, seeds=[0, 1], batch=8, variants=2)
    >>> len(losses), len(losses[0])
    (2, 2)
    """
    params, bag = _stack(models, worlds, seeds)
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch", minimum=2)
    variants = check_positive_int(variants, "variants")
    lr = _check_lr(lr)
    device = next(models[0].parameters()).device
    rngs = [runtime.seed_everything(s) for s in seeds]
    pools = [_pool(w, variants, rng, device) for w, rng in zip(worlds, rngs)]
    n_items = [pool["ids"].shape[0] for pool in pools]
    if batch > min(n_items):
        raise ValueError(f"batch must be at most the number of training items ({min(n_items)}), got {batch}")
    opt = torch.optim.Adam(params.values(), lr=lr)
    losses: list[list[float]] = [[] for _ in models]
    for _ in range(steps):
        draws = []
        for pool, rng, n in zip(pools, rngs, n_items):
            items = torch.from_numpy(rng.permutation(n)[:batch]).to(device)
            variant = torch.from_numpy(rng.integers(0, variants, batch)).to(device)
            wording = torch.from_numpy(rng.integers(0, 2, batch)).to(device)
            draws.append((pool["images"][items, variant], pool["ids"][items, wording],
                          pool["lengths"][items, wording]))
        images, ids, lengths = (torch.stack(parts) for parts in zip(*draws))
        ids = ids[..., : int(lengths.max())]
        cos, scale = _cos_and_scale(params, bag, images, ids, lengths)
        per_seed = [info_nce(logits) for logits in scale[:, None, None] * cos]
        _step(opt, torch.stack(per_seed), losses)
    _unstack(models, params)
    return losses


def fine_tune_seeds(models: list[ToyCLIP], worlds: list[World], steps: int, seeds: list[int],
                    eqsim_weights: list[float], margins: list[float], normalised: bool = False, lr: float = 1e-3,
                    pool_per_family: int = 16) -> list[list[float]]:
    """Fine-tune ``models[k]`` as :func:`~.contrastive.fine_tune` would with ``worlds[k]``, ``seeds[k]``,
    ``eqsim_weights[k]`` and ``margins[k]``, all at once, in place. Models that share a seed and a world see the
    same batches (one seed's control and EqSim candidates).

    Returns
    -------
    list of list of float
        Each model's loss at every step.

    Examples
    --------
    >>> from .contrastive import toy_clip
    >>> w = World()
    >>> models = [toy_clip(w, "order_aware") for _ in range(2)]
    >>> losses = fine_tune_seeds(models, [w, w], 2, [0, 0], [0.0, 1.0], [0.0, 0.1], pool_per_family=2)
    >>> len(losses), len(losses[0])
    (2, 2)
    """
    params, bag = _stack(models, worlds, seeds)
    steps = check_positive_int(steps, "steps")
    pool_per_family = check_positive_int(pool_per_family, "pool_per_family")
    lr = _check_lr(lr)
    if not isinstance(normalised, bool):
        raise TypeError(f"normalised must be True or False, got {type(normalised).__name__}")
    if not isinstance(eqsim_weights, (list, tuple)) or not isinstance(margins, (list, tuple)) or \
            len(eqsim_weights) != len(models) or len(margins) != len(models):
        raise ValueError(f"eqsim_weights and margins must have one entry per model ({len(models)})")
    for name, values in (("eqsim_weights", eqsim_weights), ("margins", margins)):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                   for v in values):
            raise ValueError(f"{name} must hold finite numbers >= 0")
    device = next(models[0].parameters()).device
    data: dict[tuple[int, World], dict[str, Any]] = {}
    for seed, world in zip(seeds, worlds):
        if (seed, world) not in data:
            rng = runtime.seed_everything(seed)
            pairs = swap_pairs(world, pool_per_family, rng, held_out=False)
            ids, lengths = tokenizer(world).encode([c for pair in pairs.captions for c in pair])
            n_fam = len(world.train_families)
            data[seed, world] = {
                "rng": rng, "ids": ids.reshape(n_fam, pool_per_family, 2, -1).to(device),
                "lengths": lengths.reshape(n_fam, pool_per_family, 2).to(device),
                "images": pairs.images.reshape(n_fam, pool_per_family, 2, *pairs.images.shape[2:]).to(device)}
    n_fams = {len(w.train_families) for w in worlds}
    if len(n_fams) != 1:
        raise ValueError("worlds must hold out the same number of families")
    n_fam = n_fams.pop()
    families = torch.arange(n_fam, device=device)
    weights = torch.tensor([float(w) for w in eqsim_weights], device=device)
    opt = torch.optim.Adam(params.values(), lr=lr)
    losses: list[list[float]] = [[] for _ in models]
    for _ in range(steps):
        batches = {}
        for key, d in data.items():
            pick = torch.from_numpy(d["rng"].integers(0, pool_per_family, n_fam)).to(device)
            batches[key] = (d["images"][families, pick].flatten(0, 1), d["ids"][families, pick].flatten(0, 1),
                            d["lengths"][families, pick].flatten())
        images, ids, lengths = (torch.stack(parts) for parts in zip(*(batches[k] for k in zip(seeds, worlds))))
        ids = ids[..., : int(lengths.max())]
        cos, scale = _cos_and_scale(params, bag, images, ids, lengths)
        total = []
        for k, margin in enumerate(margins):
            loss = info_nce(scale[k] * cos[k])
            if eqsim_weights[k]:
                # As fine_tune: the temperature held fixed in this term; softmax over the captions if normalised.
                scores = scale[k].detach() * cos[k]
                if normalised:
                    scores = scores.softmax(dim=0)
                blocks = scores.reshape(n_fam, 2, n_fam, 2)[families, :, families]
                loss = loss + weights[k] * eqsim_loss(blocks, margin)
            total.append(loss)
        _step(opt, torch.stack(total), losses)
    _unstack(models, params)
    return losses


def train_vqa_seeds(models: list[QuestionOnly], data: list[VQAData], steps: int, seeds: list[int],
                    batch: int = 64, lr: float = 3e-3) -> list[list[float]]:
    """Train ``models[k]`` on ``data[k]`` as :func:`~.vqa.train_vqa` would with seed ``seeds[k]``, all at once,
    in place (the models share one class and sizes).

    Returns
    -------
    list of list of float
        Each model's loss at every step.

    Examples
    --------
    >>> import numpy as np
    >>> from .vqa import vqa_data
    >>> w = World()
    >>> data = [vqa_data(w, 20, 0.8, np.random.default_rng(s)) for s in (0, 1)]
    >>> models = [QuestionOnly(int(data[0].ids.max()) + 1, w.n_colours) for _ in range(2)]
    >>> [len(x) for x in train_vqa_seeds(models, data, 3, [0, 1], batch=8)]
    [3, 3]
    """
    if isinstance(models, QuestionOnly) or not isinstance(models, (list, tuple)) or not models or \
            not all(type(m) is type(models[0]) and isinstance(m, QuestionOnly) for m in models):
        raise TypeError("models must be a non-empty list of VQA models of one class (QuestionOnly or ImageQuestion)")
    if not isinstance(data, (list, tuple)) or not all(isinstance(d, VQAData) for d in data):
        raise TypeError("data must be a list of VQAData, one per model")
    if not isinstance(seeds, (list, tuple)) or len(data) != len(models) or len(seeds) != len(models):
        raise ValueError(f"data and seeds must have one entry per model ({len(models)})")
    shapes = [tuple(t.shape) for t in models[0].parameters()]
    if any([tuple(t.shape) for t in m.parameters()] != shapes for m in models[1:]):
        raise ValueError("models must share their sizes")
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch")
    lr = _check_lr(lr)
    device = next(models[0].parameters()).device
    data = [d.to(device) for d in data]
    rngs = [runtime.seed_everything(check_positive_int(s, "seeds", minimum=0)) for s in seeds]
    names = [n for n, _ in models[0].named_parameters()]
    params = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]).requires_grad_(True)
              for n in names}
    with_image = isinstance(models[0], ImageQuestion)
    seed_axis = torch.arange(len(models), device=device)[:, None, None]
    opt = torch.optim.Adam(params.values(), lr=lr)
    losses: list[list[float]] = [[] for _ in models]
    for _ in range(steps):
        idx = [torch.from_numpy(rng.integers(0, len(d), batch)).to(device) for rng, d in zip(rngs, data)]
        ids = torch.stack([d.ids[i] for d, i in zip(data, idx)])
        lengths = torch.stack([d.lengths[i] for d, i in zip(data, idx)])
        answers = torch.stack([d.answers[i] for d, i in zip(data, idx)])
        # The padding row of the embedding stays zero, as nn.Embedding's padding_idx keeps it.
        words = params["embed.weight"][seed_axis, ids] * (ids > 0)[..., None]
        x = words.sum(2) / lengths[..., None].to(words.dtype)
        if with_image:
            images = torch.stack([d.images[i] for d, i in zip(data, idx)])
            x = torch.cat([x, F.relu(_image(params, images))], dim=-1)
        logits = _linear(params, "mlp.2", F.relu(_linear(params, "mlp.0", x)))
        per_model = F.cross_entropy(logits.flatten(0, 1), answers.flatten(), reduction="none").view(len(models), -1)
        per_model = per_model.mean(1)
        _step(opt, per_model, losses)
    _unstack(models, params)
    return losses
