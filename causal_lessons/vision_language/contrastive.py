r"""Contrastive training of the toy CLIP: similarities, the symmetric InfoNCE loss, pre-training and fine-tuning.

For a batch of :math:`B` matching (caption, image) pairs, the logits :math:`\ell_{ti} = e^\tau \cos(t, i)` form a
:math:`B \times B` matrix whose diagonal holds the matches. CLIP's loss is the mean of two cross-entropies, one
over images for each caption (rows) and one over captions for each image (columns):

.. math::

    \mathcal L = \frac{1}{2B} \sum_{b=1}^{B} \Big[ -\log \frac{e^{\ell_{bb}}}{\sum_i e^{\ell_{bi}}}
    - \log \frac{e^{\ell_{bb}}}{\sum_t e^{\ell_{tb}}} \Big].

Pre-training draws batches of distinct arrangements (each shown with one of its two true captions, "A left of
B" or "B right of A", so no other item of the batch is a hidden match). Fine-tuning draws batches of *swap pairs*
of the training families, one pair per family, and may add EqSim (:func:`~.scores.eqsim_loss`) on each pair's
four similarities.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import runtime
from .._checks import check_positive_int
from .encoders import ImageEncoder, ToyCLIP, text_encoder
from .scenes import SwapPairs, WordTokenizer, World, object_caption, render, render_objects, swap_pairs
from .scores import eqsim_loss


def _check_features(value: object, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 2 or not value.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of shape (N, D)")
    if not value.shape[0]:
        raise ValueError(f"{name} must not be empty")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    return value


def similarity(text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    r"""Cosine similarity of every caption with every image, shape ``(T, I)``: caption rows, image columns.

    :math:`s_{ti} = \langle t, v_i \rangle / (\lVert t \rVert \lVert v_i \rVert)`, all pairs in one matrix
    product.

    Examples
    --------
    >>> similarity(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[2.0, 0.0]]))
    tensor([[1.0000],
            [0.7071]])
    """
    text, image = _check_features(text, "text"), _check_features(image, "image")
    if text.shape[1] != image.shape[1]:
        raise ValueError(f"text and image must have the same width, got {text.shape[1]} and {image.shape[1]}")
    return F.normalize(text, dim=-1) @ F.normalize(image, dim=-1).T


def info_nce(logits: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss of a square ``(B, B)`` logit matrix whose diagonal holds the matches.

    Examples
    --------
    >>> round(float(info_nce(torch.zeros(4, 4))), 4)  # uniform logits: log 4
    1.3863
    >>> float(info_nce(torch.eye(3) * 100)) < 1e-6
    True
    """
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError("logits must be a square (B, B) tensor (caption rows, image columns)")
    if not logits.shape[0]:
        raise ValueError("logits must not be empty")
    if not logits.is_meta and not torch.isfinite(logits).all():
        raise ValueError("logits must hold only finite numbers (no NaN or inf)")
    target = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def toy_clip(world: World, kind: str, width: int = 8, embed: int = 16, hidden: int = 32, dim: int = 32,
             seed: int = 0) -> ToyCLIP:
    """A freshly initialised toy CLIP for ``world`` with a text encoder of ``kind`` (seeded).

    Examples
    --------
    >>> model = toy_clip(World(), "bag_of_words")
    >>> type(model.text).__name__
    'BagOfWords'
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    runtime.seed_everything(seed)
    return ToyCLIP(ImageEncoder(world.size, width, dim),
                   text_encoder(kind, len(tokenizer(world)), embed, hidden, dim))


def tokenizer(world: World) -> WordTokenizer:
    """The word tokenizer of a world's vocabulary (the text encoders' ids).

    Examples
    --------
    >>> len(tokenizer(World()))  # padding + 16 words
    17
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    return WordTokenizer(world.vocabulary())


def _pool(world: World, variants: int, rng: np.random.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """Every training item (arrangements, then single objects) rendered ``variants`` times, with the ids of
    both of its true captions."""
    scenes = world.train_scenes
    images = render([s for s in scenes for _ in range(variants)], world, rng)
    singles = render_objects([o for o in world.objects for _ in range(variants)], world, rng)
    images = torch.cat([images, singles]).reshape(-1, variants, 3, world.size, world.size)
    captions = [c for s in scenes for c in (s.caption(), s.inverse().caption())]
    captions += [object_caption(o) for o in world.objects for _ in range(2)]
    ids, lengths = tokenizer(world).encode(captions)
    n = len(scenes) + len(world.objects)
    return {"images": images.to(device), "ids": ids.reshape(n, 2, -1).to(device),
            "lengths": lengths.reshape(n, 2).to(device)}


def _check_model(model: object) -> ToyCLIP:
    if not isinstance(model, ToyCLIP):
        raise TypeError(f"model must be a ToyCLIP (see toy_clip), got {type(model).__name__}")
    return model


def _check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return float(lr)


def pretrain(model: ToyCLIP, world: World, steps: int, batch: int = 64, lr: float = 3e-3, seed: int = 0,
             variants: int = 12, progress: bool = False) -> list[float]:
    """Train a toy CLIP contrastively on the world's training arrangements and single objects.

    Each step draws ``batch`` distinct items, one of the ``variants`` pre-rendered images of each and one of its
    two true captions, and takes an Adam step on :func:`info_nce`. The data are moved to the model's device once.

    Returns
    -------
    list of float
        The loss at every step.

    Examples
    --------
    >>> w = World()
    >>> model = toy_clip(w, "order_aware")
    >>> losses = pretrain(model, w, steps=3, batch=16, variants=2)
    >>> len(losses)
    3
    """
    model = _check_model(model)
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch", minimum=2)
    variants = check_positive_int(variants, "variants")
    lr = _check_lr(lr)
    device = next(model.parameters()).device
    rng = runtime.seed_everything(seed)
    pool = _pool(world, variants, rng, device)
    n_items = pool["ids"].shape[0]
    if batch > n_items:
        raise ValueError(f"batch must be at most the number of training items ({n_items}), got {batch}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in runtime.progress(range(steps), "pre-training", progress):
        items = torch.from_numpy(rng.permutation(n_items)[:batch]).to(device)
        variant = torch.from_numpy(rng.integers(0, variants, batch)).to(device)
        wording = torch.from_numpy(rng.integers(0, 2, batch)).to(device)
        ids, lengths = pool["ids"][items, wording], pool["lengths"][items, wording]
        ids = ids[:, : int(lengths.max())]
        loss = info_nce(model(pool["images"][items, variant], ids, lengths))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def pair_similarities(model: ToyCLIP, pairs: SwapPairs, world: World) -> torch.Tensor:
    """The four cosine similarities of every swap pair, shape ``(N, 2, 2)``: ``s[n, c, i]`` is caption ``c``
    against image ``i`` of pair ``n``.

    Examples
    --------
    >>> w = World()
    >>> pairs = swap_pairs(w, 1, np.random.default_rng(0))
    >>> s = pair_similarities(toy_clip(w, "bag_of_words"), pairs, w)
    >>> s.shape, bool(torch.allclose(s[:, 0], s[:, 1]))  # a bag of words ties the two captions
    (torch.Size([4, 2, 2]), True)
    """
    model = _check_model(model)
    if not isinstance(pairs, SwapPairs):
        raise TypeError(f"pairs must be SwapPairs (see swap_pairs), got {type(pairs).__name__}")
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    device = next(model.parameters()).device
    n = len(pairs)
    ids, lengths = tokenizer(world).encode([c for pair in pairs.captions for c in pair])
    model.eval()
    with torch.no_grad():
        text = model.encode_text(ids.to(device), lengths.to(device)).reshape(n, 2, -1)
        image = model.encode_image(pairs.images.reshape(2 * n, *pairs.images.shape[2:]).to(device))
        return torch.einsum("ncd,nid->nci", text, image.reshape(n, 2, -1)).cpu()


def fine_tune(model: ToyCLIP, world: World, steps: int, eqsim_weight: float = 0.0, margin: float = 0.0,
              lr: float = 1e-3, seed: int = 0, pool_per_family: int = 16, normalised: bool = False,
              progress: bool = False) -> list[float]:
    r"""Fine-tune on swap pairs of the training families, with EqSim added to the contrastive loss.

    Each step takes one swap pair from each training family (so no caption repeats in the batch), computes the
    :math:`2P \times 2P` logits, and minimises :math:`\mathcal L_{\text{InfoNCE}} + \lambda\,
    \mathrm{EqSim}(s)`, where ``s`` holds each pair's four scores and :math:`\lambda` is ``eqsim_weight``. The
    scores are the logits the contrastive loss sees, :math:`e^\tau \cos` (the temperature held fixed in this
    term), or with ``normalised=True`` each image's softmax over the batch's captions, as EqBen's code scores
    them (``score_pre_softmax``). With ``eqsim_weight = 0`` the same batches train the contrastive loss alone:
    the control.

    Examples
    --------
    >>> w = World()
    >>> model = toy_clip(w, "order_aware")
    >>> len(fine_tune(model, w, steps=2, eqsim_weight=1.0, pool_per_family=2))
    2
    """
    model = _check_model(model)
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    steps = check_positive_int(steps, "steps")
    pool_per_family = check_positive_int(pool_per_family, "pool_per_family")
    lr = _check_lr(lr)
    if not isinstance(normalised, (bool, np.bool_)):
        raise TypeError(f"normalised must be True or False, got {type(normalised).__name__}")
    for name, v in (("eqsim_weight", eqsim_weight), ("margin", margin)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    device = next(model.parameters()).device
    rng = runtime.seed_everything(seed)
    pairs = swap_pairs(world, pool_per_family, rng, held_out=False)
    n_fam = len(world.train_families)
    ids, lengths = tokenizer(world).encode([c for pair in pairs.captions for c in pair])
    ids, lengths = ids.reshape(n_fam, pool_per_family, 2, -1).to(device), lengths.reshape(
        n_fam, pool_per_family, 2).to(device)
    images = pairs.images.reshape(n_fam, pool_per_family, 2, 3, world.size, world.size).to(device)
    families = torch.arange(n_fam, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in runtime.progress(range(steps), "fine-tuning", progress):
        pick = torch.from_numpy(rng.integers(0, pool_per_family, n_fam)).to(device)
        step_ids = ids[families, pick].reshape(2 * n_fam, -1)
        step_len = lengths[families, pick].reshape(-1)
        text = model.encode_text(step_ids[:, : int(step_len.max())], step_len)
        image = model.encode_image(images[families, pick].reshape(2 * n_fam, 3, world.size, world.size))
        cos = text @ image.T
        loss = info_nce(model.logit_scale() * cos)
        if eqsim_weight:
            # Each pair's 2 x 2 block: s[n, c, i] = logits[2n + c, 2n + i]. The temperature is held fixed
            # in this term, or EqSim could be met by shrinking it and flattening every similarity.
            scores = model.logit_scale().detach() * cos
            if normalised:  # each image's distribution over the batch's captions (caption rows)
                scores = scores.softmax(dim=0)
            blocks = scores.reshape(n_fam, 2, n_fam, 2)[families, :, families]
            loss = loss + eqsim_weight * eqsim_loss(blocks, margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


