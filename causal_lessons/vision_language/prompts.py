r"""Prompt tuning on frozen encoders: a hand-written prompt (zero-shot), CoOp and ProGrad, on base and new classes.

The downstream task classifies single objects ("red circle", ...) drawn in a washed-out, noisier style than the
pre-training images. A class's text feature is the text encoder's output for a *prompt*: context word vectors
followed by the class name's tokens, :math:`[v_1, \dots, v_M, \text{colour}, \text{shape}]`.

- **Zero-shot** uses the hand-written prompt "a picture of a {colour} {shape}", the caption of single objects in
  pre-training: :math:`v_{1:4}` = the embeddings of "a picture of a", fixed.
- **CoOp** (Zhou et al., IJCV 2022) learns the context vectors :math:`v_1, \dots, v_M` (here started from the
  hand-written prompt) by cross-entropy on a few images of the *base* classes, the encoders frozen.
- **ProGrad** (Zhu et al., ICCV 2023) computes two gradients with respect to the context: :math:`g_d` of the
  cross-entropy and :math:`g_g` of the Kullback-Leibler divergence from the zero-shot prediction to the prompt's
  prediction (the general knowledge), and steps along :func:`prograd_gradient` of them.

Both are scored on held-out images of the base classes and of *new* classes never seen in prompt training, with
the harmonic mean :math:`H = 2 b n / (b + n)`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int
from .contrastive import tokenizer
from .encoders import ToyCLIP
from .scenes import OBJECT_PROMPT, Object, World, render_objects
from .scores import _align_labels, _real_array

METHODS = ("coop", "prograd")
#: ProGrad's general gradient counts as zero (no projection) when its norm is below this share of the task
#: gradient's norm: round-off of float32 (about 1e-7 relative), far below any real conflict.
GENERAL_TOLERANCE = 1e-5


def prograd_gradient(g_task: torch.Tensor, g_general: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    r"""ProGrad's update direction: the task gradient, with its conflicting part along the general direction
    removed.

    .. math::

        g = \begin{cases} g_d & \text{if } \langle g_d, g_g \rangle \ge 0, \\
        g_d - \lambda \dfrac{\langle g_d, g_g \rangle}{\lVert g_g \rVert^2}\, g_g & \text{otherwise.}
        \end{cases}

    A zero ``g_general`` (the prompt still equals the hand-written one) has :math:`\langle g_d, g_g \rangle = 0`
    and returns ``g_task`` unchanged. With :math:`\lambda = 1` the result is orthogonal to :math:`g_g`.

    The projection depends only on the direction of :math:`g_g`, so it is computed from :math:`u = g_g / \max_j
    |g_{g,j}|`, whose squared norm lies in :math:`[1, n]`: a tiny or huge general gradient, whose own squared norm
    would underflow to 0 or overflow to inf in float32, gives the same result as any other multiple of it.

    Parameters
    ----------
    g_task, g_general
        Tensors of the same shape (flattened for the inner product).
    lam
        :math:`\lambda \ge 0`, how much of the conflicting component to remove.

    Examples
    --------
    >>> prograd_gradient(torch.tensor([1.0, 1.0]), torch.tensor([-1.0, 0.0]))
    tensor([0., 1.])
    >>> prograd_gradient(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]))  # no conflict
    tensor([1., 1.])
    >>> prograd_gradient(torch.tensor([1.0, 1.0]), torch.zeros(2))
    tensor([1., 1.])
    >>> prograd_gradient(torch.tensor([1.0, 1.0]), torch.tensor([-1e-30, 0.0]))  # only the direction counts
    tensor([0., 1.])
    """
    for name, g in (("g_task", g_task), ("g_general", g_general)):
        if not isinstance(g, torch.Tensor) or not g.is_floating_point():
            raise TypeError(f"{name} must be a float tensor, got {type(g).__name__}")
        if not g.numel():
            raise ValueError(f"{name} must not be empty")
        if not torch.isfinite(g).all():
            raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    if g_task.shape != g_general.shape:
        raise ValueError(f"g_task and g_general must have the same shape, got {tuple(g_task.shape)} and "
                         f"{tuple(g_general.shape)}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating)) or not math.isfinite(lam) \
            or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    scale = g_general.abs().max()
    if scale == 0:
        return g_task
    # Only g_general's direction enters: rescaled to a largest entry of 1, its squared norm neither underflows (a
    # tiny gradient gave 0 / 0 = nan) nor overflows. (No float64: MPS devices have none.)
    u = g_general / scale
    dot = (g_task * u).sum()
    if dot >= 0:
        return g_task
    return g_task - lam * dot / (u * u).sum() * u


def harmonic_mean(base: Any, new: Any) -> np.ndarray | float | pd.Series | pd.DataFrame:
    """:math:`H = 2bn / (b + n)`, element-wise; 0 where both are 0.

    Numbers, sequences and arrays pair up by position (and broadcast). Two pandas objects pair up by *label*, as
    pandas arithmetic does: ``new`` must have the same labels as ``base`` (in any order), and the result is a
    pandas object with ``base``'s labels. A pandas object paired with a number or an unlabelled array of its
    shape keeps its labels.

    Examples
    --------
    >>> round(harmonic_mean(0.9, 0.6), 6)
    0.72
    >>> harmonic_mean([0.5, 0.0], [0.5, 0.0]).tolist()
    [0.5, 0.0]
    >>> base = pd.Series({"CoOp": 0.9, "ProGrad": 0.8})
    >>> harmonic_mean(base, pd.Series({"ProGrad": 0.8, "CoOp": 0.6})).round(6).to_dict()  # by label
    {'CoOp': 0.72, 'ProGrad': 0.8}
    """
    labelled = [v for v in (base, new) if isinstance(v, (pd.Series, pd.DataFrame))]
    if len(labelled) == 2:
        new = _align_labels(base, new, "base", "new")
    out = []
    for name, v in (("base", base), ("new", new)):
        if isinstance(v, (str, bytes)):
            raise TypeError(f"{name} must be accuracies (numbers), got a string")
        arr = _real_array(v, name, "accuracies (numbers)")
        if not arr.size or not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
            raise ValueError(f"{name} must hold accuracies in [0, 1] (no NaN, not empty)")
        out.append(arr)
    try:
        b, n = np.broadcast_arrays(*out)
    except ValueError as exc:
        raise ValueError(f"base and new must have shapes that broadcast, got {out[0].shape} and {out[1].shape}") \
            from exc
    total = b + n
    h = np.divide(2 * b * n, total, out=np.zeros_like(total), where=total > 0)
    if labelled:
        like = labelled[0]
        if h.shape != like.shape:
            raise ValueError(f"base and new: a pandas object keeps its labels, so the other must be a number or "
                             f"have its shape {like.shape}; the result would have shape {h.shape}")
        if isinstance(like, pd.DataFrame):
            return pd.DataFrame(h, index=like.index, columns=like.columns)
        return pd.Series(h, index=like.index)
    return float(h) if h.ndim == 0 else h


def split_classes(world: World) -> tuple[list[Object], list[Object]]:
    """Base and new classes: a checkerboard over (colour, shape), so every colour and every shape is in both.

    Examples
    --------
    >>> base, new = split_classes(World())
    >>> len(base), len(new), base[0], new[0]
    (6, 6, ('red', 'circle'), ('red', 'square'))
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    base = [(c, s) for i, c in enumerate(world.colours) for j, s in enumerate(world.shapes) if (i + j) % 2 == 0]
    new = [(c, s) for i, c in enumerate(world.colours) for j, s in enumerate(world.shapes) if (i + j) % 2 == 1]
    return base, new


class PromptLearner(nn.Module):
    """Learnable context vectors before each class name; the text encoder (frozen) turns them into features.

    Parameters
    ----------
    model
        A pre-trained toy CLIP (only the context is trained: pass a frozen copy, as :func:`prompt_tuning` does).
    world
        Gives the vocabulary.
    classes
        The class objects whose names follow the context.

    Examples
    --------
    >>> from causal_lessons.vision_language.contrastive import toy_clip
    >>> w = World()
    >>> learner = PromptLearner(toy_clip(w, "order_aware"), w, split_classes(w)[0])
    >>> learner().shape, learner.context.shape
    (torch.Size([6, 32]), torch.Size([4, 16]))
    """

    PROMPT = OBJECT_PROMPT

    def __init__(self, model: ToyCLIP, world: World, classes: list[Object]) -> None:
        super().__init__()
        if not isinstance(model, ToyCLIP):
            raise TypeError(f"model must be a ToyCLIP, got {type(model).__name__}")
        if not isinstance(world, World):
            raise TypeError(f"world must be a World, got {type(world).__name__}")
        if not classes or any(c not in world.objects for c in classes):
            raise ValueError("classes must be a non-empty list of the world's (colour, shape) objects")
        self.model = model
        tok = tokenizer(world)
        prompt_ids, _ = tok.encode([self.PROMPT])
        names, _ = tok.encode([f"{c} {s}" for c, s in classes])
        device = model.log_scale.device
        self.register_buffer("names", names.to(device))
        embed = model.text.embed
        # Started from the hand-written prompt's word vectors: at step 0 the prompt *is* the zero-shot prompt.
        self.context = nn.Parameter(embed.weight[prompt_ids[0].to(device)].detach().clone())

    def forward(self) -> torch.Tensor:
        """Unit-length text features of every class, shape ``(C, dim)``."""
        embed = self.model.text.embed
        n = len(self.names)
        x = torch.cat([self.context.expand(n, -1, -1), embed(self.names)], dim=1)
        lengths = torch.full((n,), x.shape[1], dtype=torch.long, device=x.device)
        return F.normalize(self.model.text.from_embeddings(x, lengths), dim=-1)


def _features(model: ToyCLIP, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.encode_image(images.to(model.log_scale.device))


def prompt_tuning(model: ToyCLIP, world: World, epochs: int, shots: int = 4, test_per_class: int = 40,
                  lr: float = 0.05, lam: float = 1.0, eval_every: int = 5, seed: int = 0, contrast: float = 0.6,
                  noise: float = 0.12) -> pd.DataFrame:
    """Zero-shot, CoOp and ProGrad on the same few shots: base and new accuracy against training epochs.

    Each epoch is one full-batch SGD step (momentum 0.9) on the ``shots`` images of every base class. CoOp
    steps along the cross-entropy's gradient, ProGrad along :func:`prograd_gradient` of it and of the
    gradient of :math:`\\mathrm{KL}(p_{\\text{zero-shot}} \\,\\|\\, p_{\\text{prompt}})` on the same images.
    A general gradient whose norm is below :data:`GENERAL_TOLERANCE` times the task gradient's (round-off, as at
    the first step, where the prompt is the hand-written one) counts as zero, so the first steps of CoOp and
    ProGrad are the same.

    Returns
    -------
    pandas.DataFrame
        Columns ``method`` (zero-shot, CoOp, ProGrad), ``epoch``, ``base``, ``new``, ``harmonic``; zero-shot
        has one row per evaluated epoch too (it does not train), so the three curves share an x axis.

    Examples
    --------
    >>> from causal_lessons.vision_language.contrastive import toy_clip
    >>> w = World()
    >>> table = prompt_tuning(toy_clip(w, "order_aware"), w, epochs=2, shots=1, test_per_class=2, eval_every=1)
    >>> sorted(table["method"].unique()), int(table["epoch"].max())
    (['CoOp', 'ProGrad', 'zero-shot'], 2)
    """
    if not isinstance(model, ToyCLIP):
        raise TypeError(f"model must be a ToyCLIP, got {type(model).__name__}")
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    shots = check_positive_int(shots, "shots")
    test_per_class = check_positive_int(test_per_class, "test_per_class")
    eval_every = check_positive_int(eval_every, "eval_every")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    base, new = split_classes(world)
    rng = runtime.seed_everything(seed)
    # The encoders stay frozen: a copy without gradients, so the caller's model is untouched.
    model = copy.deepcopy(model).requires_grad_(False).eval()
    style = {"contrast": contrast, "noise": noise}
    train_x = _features(model, render_objects([c for c in base for _ in range(shots)], world, rng, **style))
    train_y = torch.arange(len(base), device=train_x.device).repeat_interleave(shots)
    tests = {}
    for split, classes in (("base", base), ("new", new)):
        x = _features(model, render_objects([c for c in classes for _ in range(test_per_class)], world, rng,
                                            **style))
        tests[split] = (x, torch.arange(len(classes), device=x.device).repeat_interleave(test_per_class))
    learners = {name: (PromptLearner(model, world, base), PromptLearner(model, world, new))
                for name in ("zero-shot", "CoOp", "ProGrad")}
    scale = model.logit_scale().detach()
    with torch.no_grad():
        zero_shot = F.softmax(scale * train_x @ learners["zero-shot"][0]().T, dim=-1)

    def evaluate(name: str, epoch: int) -> dict[str, Any]:
        row: dict[str, Any] = {"method": name, "epoch": epoch}
        with torch.no_grad():
            for split, learner in zip(("base", "new"), learners[name]):
                x, y = tests[split]
                row[split] = float((x @ learner().T).argmax(-1).eq(y).double().mean())
        row["harmonic"] = harmonic_mean(row["base"], row["new"])
        return row

    rows = [evaluate(name, 0) for name in learners]
    optimisers = {name: torch.optim.SGD([learners[name][0].context], lr=lr, momentum=0.9)
                  for name in ("CoOp", "ProGrad")}
    for epoch in range(1, epochs + 1):
        for name, opt in optimisers.items():
            learner = learners[name][0]
            logits = scale * train_x @ learner().T
            context = learner.context
            g_task, = torch.autograd.grad(F.cross_entropy(logits, train_y), context, retain_graph=True)
            if name == "ProGrad":
                kl = F.kl_div(F.log_softmax(logits, dim=-1), zero_shot, reduction="batchmean")
                g_general, = torch.autograd.grad(kl, context)
                # While the prompt is still the hand-written one (the first step) the divergence is at its
                # minimum and g_general is round-off (softmax against exp(log_softmax)); prograd_gradient keeps
                # only its direction, so round-off would still remove part of the task gradient. Below a
                # tolerance relative to the task gradient it counts as zero.
                if float(g_general.norm()) > GENERAL_TOLERANCE * float(g_task.norm()):
                    g_task = prograd_gradient(g_task, g_general, lam)
            context.grad = g_task
            opt.step()
            # The new-class prompt shares the learned context: only the class names differ.
            learners[name][1].context.data.copy_(context.data)
        if epoch % eval_every == 0 or epoch == epochs:
            rows += [evaluate(name, epoch) for name in learners]
    return pd.DataFrame(rows)
