r"""The right answer for the wrong reason: visual questions whose answers the question alone predicts in training.

Each image holds two objects of different shapes; the question asks the colour of one of them ("what colour is
the circle"). In training, each shape has a *usual* colour: the asked object has it with probability ``skew``
(circles are mostly red), otherwise another colour at random. The in-distribution test split is drawn the same
way; the *shifted* split (as VQA-CP, Agrawal et al. 2018) re-draws the usual colours, so that the answer prior
of every question changes while the images still show the answer.

A question-only model can only learn the prior :math:`P(\text{answer} \mid \text{question})`; an image+question
model can look. The causal reading (the talk's): the question type affects the answer through two paths, the
real one through the scene and a shortcut through the data set's prior, and accuracy in distribution cannot tell
them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from .._checks import check_positive_int, check_probability
from .contrastive import tokenizer
from .encoders import ImageEncoder
from .scenes import Scene, World, render
from .scores import _align_labels, _real_array


@dataclass(frozen=True)
class VQAData:
    """Images, questions and answers.

    Attributes
    ----------
    images
        Shape ``(N, 3, size, size)``.
    ids, lengths
        The questions' word ids and lengths.
    answers
        Index of the answer colour in ``world.colours``, shape ``(N,)``.
    shapes
        Index of the asked shape in ``world.shapes`` (the question type), shape ``(N,)``.
    """

    images: torch.Tensor
    ids: torch.Tensor
    lengths: torch.Tensor
    answers: torch.Tensor
    shapes: torch.Tensor

    def __len__(self) -> int:
        return len(self.answers)

    def to(self, device: torch.device | str) -> "VQAData":
        """The same data on ``device``."""
        return VQAData(*(getattr(self, f).to(device) for f in ("images", "ids", "lengths", "answers", "shapes")))


def usual_colours(world: World, shifted: bool = False) -> list[int]:
    """The usual colour (an index into ``world.colours``) of each shape: shape ``j`` gets colour ``j``, or colour
    ``j + 1`` (modulo the number of colours) on the shifted split, so every shape's usual colour changes.

    Examples
    --------
    >>> usual_colours(World()), usual_colours(World(), shifted=True)
    ([0, 1, 2], [1, 2, 3])
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    if not isinstance(shifted, (bool, np.bool_)):
        raise TypeError(f"shifted must be True or False, got {type(shifted).__name__}")
    return [(j + int(shifted)) % world.n_colours for j in range(world.n_shapes)]


def vqa_data(world: World, n: int, skew: float, rng: np.random.Generator, shifted: bool = False) -> VQAData:
    """``n`` questions about two-object scenes with answer priors skewed per question type.

    The asked object's colour is the shape's usual colour (:func:`usual_colours`) with probability ``skew``,
    else uniform over the other colours; the other object has another shape and any colour.

    Examples
    --------
    >>> data = vqa_data(World(), 200, 0.8, np.random.default_rng(0))
    >>> data.images.shape, data.ids.shape
    (torch.Size([200, 3, 16, 16]), torch.Size([200, 5]))
    >>> usual = torch.tensor(usual_colours(World()))
    >>> round(float((data.answers == usual[data.shapes]).double().mean()), 2)  # the skew, up to sampling
    0.77
    """
    if not isinstance(world, World):
        raise TypeError(f"world must be a World, got {type(world).__name__}")
    n = check_positive_int(n, "n")
    skew = check_probability(skew, "skew")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    usual = usual_colours(world, shifted)
    n_c, n_s = world.n_colours, world.n_shapes
    scenes, questions, answers, shapes = [], [], [], []
    for _ in range(n):
        asked, other = (int(v) for v in rng.choice(n_s, 2, replace=False))
        colour = usual[asked] if rng.random() < skew else \
            int(rng.choice([c for c in range(n_c) if c != usual[asked]]))
        a = (world.colours[colour], world.shapes[asked])
        b = (world.colours[int(rng.integers(n_c))], world.shapes[other])
        relation = world.relations[int(rng.integers(len(world.relations)))]
        scenes.append(Scene(a, relation, b) if rng.random() < 0.5 else Scene(b, relation, a))
        questions.append(f"what colour is the {world.shapes[asked]}")
        answers.append(colour)
        shapes.append(asked)
    ids, lengths = tokenizer(world).encode(questions)
    return VQAData(render(scenes, world, rng), ids, lengths, torch.tensor(answers), torch.tensor(shapes))


class QuestionOnly(nn.Module):
    """The question's mean word embedding, then an MLP to the answer's logits: it cannot see the image.

    Examples
    --------
    >>> QuestionOnly(vocab_size=17, n_answers=4)(torch.tensor([[1, 2]]), torch.tensor([2])).shape
    torch.Size([1, 4])
    """

    def __init__(self, vocab_size: int, n_answers: int, embed: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(check_positive_int(vocab_size, "vocab_size", minimum=2),
                                  check_positive_int(embed, "embed"), padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(embed, check_positive_int(hidden, "hidden")), nn.ReLU(),
                                 nn.Linear(hidden, check_positive_int(n_answers, "n_answers", minimum=2)))

    def question(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean word embedding of each question."""
        if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or ids.dtype != torch.long or not ids.numel():
            raise ValueError("ids must be a non-empty LongTensor of shape (N, L)")
        if not isinstance(lengths, torch.Tensor) or lengths.shape != ids.shape[:1]:
            raise ValueError(f"lengths must have shape ({ids.shape[0]},)")
        return self.embed(ids).sum(1) / lengths[:, None].to(torch.float32)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor | None = None) -> torch.Tensor:
        return self.mlp(self.question(ids, lengths))


class ImageQuestion(QuestionOnly):
    """The question's embedding concatenated with a CNN's image features, then an MLP.

    ``width`` sets the CNN's channels and ``hidden`` the MLP: the chapter trains a small and a large one.

    Examples
    --------
    >>> model = ImageQuestion(17, 4, size=16, width=4)
    >>> model(torch.tensor([[1, 2]]), torch.tensor([2]), torch.zeros(1, 3, 16, 16)).shape
    torch.Size([1, 4])
    """

    def __init__(self, vocab_size: int, n_answers: int, size: int, width: int = 8, embed: int = 16,
                 hidden: int = 32) -> None:
        super().__init__(vocab_size, n_answers, embed, hidden)
        self.image = ImageEncoder(size, width, hidden)
        self.mlp = nn.Sequential(nn.Linear(embed + hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_answers))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, images: torch.Tensor | None = None) -> torch.Tensor:
        if images is None:
            raise ValueError("images must be given to an image+question model")
        return self.mlp(torch.cat([self.question(ids, lengths), F.relu(self.image(images))], dim=1))


def _check_vqa(model: Any, data: Any) -> None:
    if not isinstance(model, QuestionOnly):
        raise TypeError(f"model must be a QuestionOnly or ImageQuestion model, got {type(model).__name__}")
    if not isinstance(data, VQAData):
        raise TypeError(f"data must be VQAData (see vqa_data), got {type(data).__name__}")


def train_vqa(model: QuestionOnly, data: VQAData, steps: int, batch: int = 64, lr: float = 3e-3, seed: int = 0,
              progress: bool = False) -> list[float]:
    """Train a VQA model by cross-entropy on random mini-batches (Adam); the data go to its device once.

    Examples
    --------
    >>> w = World()
    >>> data = vqa_data(w, 50, 0.8, np.random.default_rng(0))
    >>> len(train_vqa(QuestionOnly(17, 4), data, steps=3, batch=8))
    3
    """
    _check_vqa(model, data)
    steps = check_positive_int(steps, "steps")
    batch = check_positive_int(batch, "batch")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    device = next(model.parameters()).device
    data = data.to(device)
    rng = runtime.seed_everything(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in runtime.progress(range(steps), "VQA", progress):
        idx = torch.from_numpy(rng.integers(0, len(data), batch)).to(device)
        logits = model(data.ids[idx], data.lengths[idx], data.images[idx])
        loss = F.cross_entropy(logits, data.answers[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def vqa_predict(model: QuestionOnly, data: VQAData) -> torch.Tensor:
    """The model's answer (a colour index) to every question.

    Examples
    --------
    >>> data = vqa_data(World(), 5, 0.8, np.random.default_rng(0))
    >>> vqa_predict(QuestionOnly(17, 4), data).shape
    torch.Size([5])
    """
    _check_vqa(model, data)
    device = next(model.parameters()).device
    data = data.to(device)
    model.eval()
    with torch.no_grad():
        return model(data.ids, data.lengths, data.images).argmax(-1).cpu()


def question_only_accuracy(train_counts: Any, test_counts: Any) -> float:
    r"""Accuracy on a test split of the best question-only rule learned from training counts.

    ``counts[q, a]`` is how many questions of type ``q`` have answer ``a``. The rule answers each question type
    with its most frequent training answer, :math:`\hat a(q) = \arg\max_a n^{\text{train}}_{qa}`, so its test
    accuracy is :math:`\sum_q n^{\text{test}}_{q \hat a(q)} / \sum_{q, a} n^{\text{test}}_{qa}`.

    Two data frames (e.g. from ``pandas.crosstab``) are matched by their labels: ``test_counts`` must have
    the same question types (rows) and answers (columns) as ``train_counts``, in any order. Arrays, nested lists
    and a data frame paired with an array are matched by position.

    Examples
    --------
    >>> question_only_accuracy([[8, 2], [1, 9]], [[8, 2], [1, 9]])  # in distribution
    0.85
    >>> question_only_accuracy([[8, 2], [1, 9]], [[2, 8], [9, 1]])  # the priors swapped
    0.15
    >>> train = pd.DataFrame([[8, 2], [1, 9]], index=["circle", "square"], columns=["red", "blue"])
    >>> test = pd.DataFrame([[9, 1], [2, 8]], index=["square", "circle"], columns=["red", "blue"])
    >>> question_only_accuracy(train, test)  # rows in another order: still the swapped priors
    0.15
    """
    if isinstance(train_counts, pd.DataFrame) and isinstance(test_counts, pd.DataFrame):
        test_counts = _align_labels(train_counts, test_counts, "train_counts", "test_counts")
    tables = []
    for name, counts in (("train_counts", train_counts), ("test_counts", test_counts)):
        if isinstance(counts, (str, bytes)):
            raise TypeError(f"{name} must be a table of counts, got a string")
        arr = _real_array(counts, name, "a table of counts")
        if arr.ndim != 2 or not arr.size:
            raise ValueError(f"{name} must be a non-empty 2-D table (question type x answer), got shape {arr.shape}")
        if not np.isfinite(arr).all() or (arr < 0).any() or (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold non-negative whole counts")
        tables.append(arr)
    train, test = tables
    if train.shape != test.shape:
        raise ValueError(f"train_counts and test_counts must have the same shape, got {train.shape} and {test.shape}")
    if test.sum() == 0:
        raise ValueError("test_counts must not all be zero")
    best = train.argmax(axis=1)
    return float(test[np.arange(len(test)), best].sum() / test.sum())
