r"""Coloured digits in environments: the setting of Arjovsky et al.'s coloured MNIST, on scikit-learn's digits.

A digit image (chapter 3's :func:`~causal_lessons.equivariance.rotated_digits.load_digit_images`, 17 x 17) gets
a binary label and a colour:

.. math::

   \begin{aligned}
   y^{\text{clean}} &= [\text{digit} < 5], \qquad
   y = y^{\text{clean}} \oplus \text{flip}, \quad \text{flip} \sim \text{Bernoulli}(\eta), \\
   P(\text{colour} = y \mid y, e) &= a_e \qquad (\text{colour } 0 = \text{red}, 1 = \text{green}),
   \end{aligned}

with label noise :math:`\eta = 0.25` and colour agreement :math:`a_e = 0.9` and :math:`0.8` in the two training
environments and :math:`0.1` at test (chapter 2's
:func:`~causal_lessons.confounders.coloured_images.confounded_colours` draws the colour). The colour is a
*child* of the label whose mechanism changes with the environment: it predicts :math:`y` better than the shape
does in training (:math:`a_e \ge 0.8` against :math:`1 - \eta = 0.75`), and the relation flips at test. The image
has two channels, red and green; the digit is painted in its colour on black
(:func:`~causal_lessons.confounders.coloured_images.colourise`).

scikit-learn ships 1,797 digits, not MNIST's 60,000. The chapter's experiment splits the 1,200 training digits
into disjoint halves, one per training environment, as Arjovsky et al. split 50,000 digits
(``disjoint=True``); by default every environment colours *all* the training digits with its own draws of
noise and colour, so the same digit appears in both, once per environment (the exercise's setting). At the full
size every environment also gets its own randomly shifted copies of its digits (:func:`random_shifts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import graphviz
import torch
import torch.nn.functional as F

from .._checks import check_positive_int, check_probability
from ..confounders.coloured_images import colourise, confounded_colours
from ..diagrams import dag
from ..equivariance.rotated_digits import load_digit_images
from ..formatting import number

#: Pure red and pure green: the two channels of the images are the red and the green of RGB.
RED_GREEN = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
#: Arjovsky et al.'s setting: label noise and colour agreement in the training and test environments.
NOISE, TRAIN_AGREEMENTS, TEST_AGREEMENT = 0.25, (0.9, 0.8), 0.1
#: Digits scikit-learn ships.
N_DIGITS = 1_797


@dataclass(frozen=True)
class Environment:
    """One environment of coloured digits.

    Attributes
    ----------
    images
        ``(n, 2, 17, 17)`` floats: the digit in the red or the green channel.
    y
        ``(n,)`` float labels in {0, 1} *after* label noise (what a model is trained and tested on).
    digit
        ``(n,)`` the digit 0-9 (the clean label is ``digit < 5``).
    colour
        ``(n,)`` 0 (red) or 1 (green).
    flipped
        ``(n,)`` bool: whether label noise flipped the label.
    """

    images: torch.Tensor
    y: torch.Tensor
    digit: torch.Tensor
    colour: torch.Tensor
    flipped: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    @property
    def colour_agrees(self) -> torch.Tensor:
        """Whether the colour agrees with the (noisy) label: the context a model can take a shortcut through."""
        return self.colour == self.y.long()

    def to(self, device: torch.device | str) -> "Environment":
        """The same environment with every tensor on ``device``."""
        return Environment(*(t.to(device) for t in (self.images, self.y, self.digit, self.colour, self.flipped)))

    def subset(self, keep: torch.Tensor) -> "Environment":
        """The examples where the boolean mask ``keep`` is true."""
        return Environment(*(t[keep] for t in (self.images, self.y, self.digit, self.colour, self.flipped)))


@dataclass(frozen=True)
class ColouredDigits:
    """Training environments and the reversed-colour test environment."""

    train: tuple[Environment, ...]
    test: Environment


def make_environment(shapes: torch.Tensor, digits: torch.Tensor, agreement: float, noise: float = NOISE,
                     generator: torch.Generator | None = None) -> Environment:
    """Label, add label noise, colour: one environment of coloured digits from grey digit images.

    Parameters
    ----------
    shapes
        ``(n, 17, 17)`` or ``(n, 1, 17, 17)`` grey digits in [0, 1].
    digits
        ``(n,)`` integer digits 0-9.
    agreement
        :math:`a_e = P(\\text{colour} = y)`, the strength of the colour shortcut in this environment.
    noise
        :math:`\\eta`, the probability that a label is flipped.
    generator
        Torch generator for the noise and colour draws.

    Examples
    --------
    >>> x, d = load_digit_images()
    >>> env = make_environment(x, d, 0.9, 0.25, torch.Generator().manual_seed(0))
    >>> tuple(env.images.shape), round(float(env.colour_agrees.float().mean()), 1)
    ((1797, 2, 17, 17), 0.9)
    """
    agreement = check_probability(agreement, "agreement")
    noise = check_probability(noise, "noise")
    if not isinstance(shapes, torch.Tensor) or shapes.ndim not in (3, 4) or (shapes.ndim == 4 and
                                                                          shapes.shape[1] != 1):
        raise ValueError("shapes must be a tensor of shape (n, H, W) or (n, 1, H, W)")
    shapes = shapes.reshape(len(shapes), *shapes.shape[-2:]).float()
    if len(shapes) == 0:
        raise ValueError("shapes must hold at least one image")
    if not torch.isfinite(shapes).all():
        raise ValueError("shapes must hold only finite numbers (no NaN or inf)")
    if (not isinstance(digits, torch.Tensor) or digits.shape != shapes.shape[:1] or digits.is_floating_point()
            or int(digits.min()) < 0 or int(digits.max()) > 9):
        raise ValueError(f"digits must be an integer tensor of shape ({len(shapes)},) with values 0-9")
    clean = (digits < 5).long()
    flipped = torch.rand(len(digits), generator=generator) < noise
    y = torch.where(flipped, 1 - clean, clean)
    colour = confounded_colours(y, agreement, 2, generator)
    images = colourise(shapes, colour, "foreground", RED_GREEN)[:, :2]
    return Environment(images, y.float(), digits.clone(), colour, flipped)


def random_shifts(images: torch.Tensor, copies: int, max_shift: int = 2,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``copies`` versions of every image, each moved by a random whole-pixel shift in each direction.

    The first copy is the image itself; the others are shifted by up to ``max_shift`` pixels (zeros come in at
    the edges: the digits sit on a black border).

    Returns
    -------
    torch.Tensor
        ``(copies * n, C, H, W)``: copy ``k`` of image ``i`` at row ``k * n + i``.

    Examples
    --------
    >>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 2] = 1
    >>> out = random_shifts(x, 3, 1, torch.Generator().manual_seed(0))
    >>> out.shape, out.sum().item()
    (torch.Size([3, 1, 5, 5]), 3.0)
    """
    copies = check_positive_int(copies, "copies")
    max_shift = check_positive_int(max_shift, "max_shift", minimum=0)
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError("images must be a non-empty tensor of shape (n, C, H, W)")
    if not torch.isfinite(images).all():
        raise ValueError("images must hold only finite numbers (no NaN or inf)")
    if max_shift >= min(images.shape[-2:]):
        raise ValueError(f"max_shift must be smaller than the image, got {max_shift} for {tuple(images.shape[-2:])}")
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    out = [images]
    rows = torch.arange(h)[:, None]
    cols = torch.arange(w)[None, :]
    for _ in range(copies - 1):
        dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
        r = (rows[None] + dy[:, None, None]).expand(n, h, w)
        c = (cols[None] + dx[:, None, None]).expand(n, h, w)
        idx = torch.arange(n)[:, None, None].expand(n, h, w)
        out.append(padded[idx, :, r, c].permute(0, 3, 1, 2))
    return torch.cat(out)


def coloured_digits(seed: int = 0, agreements: Sequence[float] = TRAIN_AGREEMENTS,
                    test_agreement: float = TEST_AGREEMENT, noise: float = NOISE, n_test: int = 597,
                    copies: int = 1, disjoint: bool = False) -> ColouredDigits:
    """The training environments and the reversed-colour test set.

    The digits are shuffled by ``seed``; the first ``n_test`` are the test digits (never seen in training), the
    rest the training digits. Every training environment colours all the training digits (or, with
    ``disjoint``, its own share of them) with its own draws of noise and colour; with ``copies > 1`` each
    environment (and the test set) uses its own ``copies`` randomly shifted versions of its digits.

    Parameters
    ----------
    seed
        Seeds the shuffle, the shifts, the noise and the colours.
    agreements
        :math:`a_e` of each training environment (Arjovsky et al.: 0.9 and 0.8).
    test_agreement
        :math:`a_e` of the test environment (0.1: the colour relation reversed).
    noise
        Label noise :math:`\\eta` (0.25), the same in every environment.
    n_test
        Test digits.
    copies
        Shifted copies per digit (1: the digits as they are).
    disjoint
        Give each training environment its own equal share of the training digits (no digit in two
        environments), instead of all of them.

    Examples
    --------
    >>> data = coloured_digits(seed=0)
    >>> [len(e) for e in data.train], len(data.test)
    ([1200, 1200], 597)
    >>> [len(e) for e in coloured_digits(seed=0, disjoint=True).train]
    [600, 600]
    >>> round(float(data.test.colour_agrees.float().mean()), 2)
    0.11
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    if isinstance(agreements, (str, bytes)) or not isinstance(agreements, Sequence) or not agreements:
        raise TypeError("agreements must be a non-empty sequence of probabilities, one per training environment")
    agreements = [check_probability(a, "agreements") for a in agreements]
    test_agreement = check_probability(test_agreement, "test_agreement")
    noise = check_probability(noise, "noise")
    copies = check_positive_int(copies, "copies")
    if not isinstance(disjoint, bool):
        raise TypeError(f"disjoint must be True or False, got {type(disjoint).__name__}")
    shapes, digits = load_digit_images()
    n_test = check_positive_int(n_test, "n_test")
    if n_test >= len(digits):
        raise ValueError(f"n_test must leave training digits: got {n_test} of {len(digits)}")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(digits), generator=gen)
    test_idx, train_idx = order[:n_test], order[n_test:]

    def environment(idx: torch.Tensor, agreement: float) -> Environment:
        images = random_shifts(shapes[idx], copies, 2, gen) if copies > 1 else shapes[idx]
        return make_environment(images, digits[idx].repeat(copies), agreement, noise, gen)

    shares = train_idx.tensor_split(len(agreements)) if disjoint else [train_idx] * len(agreements)
    train = tuple(environment(idx, a) for idx, a in zip(shares, agreements))
    return ColouredDigits(train, environment(test_idx, test_agreement))


def pool(envs: Sequence[Environment]) -> Environment:
    """All examples of several environments in one (what ERM and environment inference see).

    Examples
    --------
    >>> data = coloured_digits(seed=0)
    >>> len(pool(data.train))
    2400
    """
    if isinstance(envs, Environment) or not isinstance(envs, Sequence) or not envs:
        raise TypeError("envs must be a non-empty sequence of Environment")
    if not all(isinstance(e, Environment) for e in envs):
        raise TypeError("envs must hold only Environment objects")
    return Environment(*(torch.cat(parts) for parts in zip(*((e.images, e.y, e.digit, e.colour, e.flipped)
                                                               for e in envs))))


def remove_colour(env: Environment) -> Environment:
    """The grayscale oracle's view: the same examples with the colour removed (the digit in both channels).

    The input keeps its shape, so the grayscale model has exactly as many parameters as the others.

    Examples
    --------
    >>> env = coloured_digits(seed=0).test
    >>> grey = remove_colour(env)
    >>> bool(torch.equal(grey.images[:, 0], grey.images[:, 1])), bool(torch.equal(grey.y, env.y))
    (True, True)
    """
    if not isinstance(env, Environment):
        raise TypeError(f"env must be an Environment, got {type(env).__name__}")
    shape = env.images.sum(1, keepdim=True)
    return Environment(shape.expand_as(env.images).clone(), env.y, env.digit, env.colour, env.flipped)


def environments_dag(irm: bool = False) -> graphviz.Digraph:
    """The causal diagram of coloured digits; with ``irm``, annotated with what IRM keeps and what it drops.

    The environment sets how strongly the colour follows the label; the digit (shape) causes the clean label,
    noise makes the observed label, and the image shows both shape and colour.

    Examples
    --------
    >>> from causal_lessons.diagrams import edges_through_nodes
    >>> edges_through_nodes(environments_dag(irm=True).pipe(format="svg").decode())
    []
    """
    if not isinstance(irm, bool):
        raise TypeError(f"irm must be True or False, got {type(irm).__name__}")
    edges = [("digit", "label"), ("noise", "label"), ("label", "colour"), ("environment", "colour"),
             ("digit", "image"), ("colour", "image")]
    labels = {"digit": "digit (shape)", "label": "label y", "noise": f"label noise\n{number(NOISE, 0, percent=True)}",
              "environment": "environment e", "colour": "colour", "image": "image x"}
    edge_labels = {("digit", "label"): "same in every e", ("label", "colour"): "changes with e"} if irm else None
    return dag(edges, labels=labels, latent=["noise"], highlight=["digit"] if irm else ["environment"],
               edge_labels=edge_labels, ranks=[["digit", "noise", "environment"]])
