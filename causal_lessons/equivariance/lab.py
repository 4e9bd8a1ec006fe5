"""Chapter 3's lab configuration: the rotated-digits comparison at each size, and how big a job it is.

The chapter page and the lab run the same experiment (:func:`causal_lessons.equivariance.claims.measure`), so
one book build trains the networks once; these settings decide its size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import runtime
from .rotated_digits import MODELS, make_model, matched_widths


@dataclass(frozen=True)
class Settings:
    """The rotated-digits experiment at one size.

    Attributes
    ----------
    side, depth
        Image side (odd) and number of convolution layers.
    parameters
        The parameter count every model is matched to.
    sizes, seeds
        Training-set sizes and seeds.
    steps, batch_size, lr, eval_every
        The training budget (equal for every model), batch size, peak learning rate, and how often the
        validation loss is computed to pick the checkpoint.
    n_val, n_test
        Validation and test digits per seed.
    workers
        Processes that train in parallel on a CPU (the quick size's two cores); one on a GPU.
    world_states, code_steps
        The learned codes of the glyph x colour x rotation world
        (:func:`~causal_lessons.equivariance.disentangle.learned_leakage`): how many of its 48 states an
        encoder is trained on, and for how many steps.
    """

    side: int
    depth: int
    parameters: int
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    batch_size: int
    lr: float
    eval_every: int
    n_val: int
    n_test: int
    workers: int
    world_states: tuple[int, ...] = (12, 24, 48)
    code_steps: int = 300


def _check_size(at: object) -> None:
    if at is not None and at not in runtime.SIZES:
        raise ValueError(f"at must be None or one of {runtime.SIZES}, got {at!r}")


def settings(at: str | None = None) -> Settings:
    """The lab's settings at the selected size (or at ``at``: ``"quick"``, ``"full"`` or ``"smoke"``).

    Examples
    --------
    >>> s = settings("quick")
    >>> s.side, len(s.seeds) >= 10
    (9, True)
    >>> settings("smoke").steps, settings("smoke").side == settings("full").side
    (2, True)
    """
    _check_size(at)
    return Settings(
        side=runtime.pick(9, 17, at),
        depth=runtime.pick(3, 4, at),
        parameters=runtime.pick(4_000, 40_000, at),
        sizes=runtime.pick((500,), (100, 200, 400, 997), at),
        seeds=tuple(runtime.seeds(10, 10, at)),
        steps=runtime.steps(100, 2_000, at),
        batch_size=runtime.pick(64, 256, at),
        lr=1e-2,
        eval_every=runtime.pick(25, 100, at),
        n_val=300,
        n_test=500,
        workers=runtime.pick(2, 1, at),
        world_states=(12, 24, 48),
        code_steps=runtime.steps(250, 1_000, at),
    )


def _training_step(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    F.cross_entropy(model(images), labels).backward()


def step_flops(config: Settings) -> dict[str, int]:
    """FLOPs of one training step (forward and backward on one batch) of each of
    :data:`~causal_lessons.equivariance.rotated_digits.MODELS` at ``config``'s matched widths, counted on the meta
    device (no computation).

    At matched parameters a :math:`C_4` G-CNN costs about four times the CNN's multiply-adds per step and a
    :math:`D_4` G-CNN about eight times (a layer costs :math:`(|G| c)^2 k^2 HW` with :math:`|G| c^2 = w^2`), so
    equal steps are not equal compute.

    Examples
    --------
    >>> flops = step_flops(settings("quick"))
    >>> 3 < flops["G-CNN (C4)"] / flops["CNN"] < 5, flops["CNN"] == flops["CNN + rotation augmentation"]
    (True, True)
    """
    if not isinstance(config, Settings):
        raise TypeError(f"config must be lab.Settings (see lab.settings()), got {type(config).__name__}")
    widths = matched_widths(config.parameters, config.depth)
    with torch.device("meta"):
        images = torch.zeros(config.batch_size, 1, config.side, config.side)
        labels = torch.zeros(config.batch_size, dtype=torch.long)
        models = {name: make_model(name, widths[name], config.depth) for name in MODELS}
        return {name: runtime.count_flops(functools.partial(_training_step, model, images, labels))
                for name, model in models.items()}


def matched_steps(config: Settings) -> int:
    """The steps at which the :math:`C_4` G-CNN spends the compute (FLOPs) of the CNN's budget of
    ``config.steps`` steps: that budget times the ratio of their costs per step (:func:`step_flops`), rounded.

    Examples
    --------
    >>> s = settings("quick")
    >>> 3 * matched_steps(s) < s.steps < 5 * matched_steps(s)
    True
    """
    flops = step_flops(config)  # checks config
    return max(1, round(config.steps * flops["CNN"] / flops["G-CNN (C4)"]))


def aug_matched_steps(config: Settings) -> int:
    """The steps at which the augmented CNN spends the compute (FLOPs) of the :math:`C_4` G-CNN's budget of
    ``config.steps`` steps: the other direction of :func:`matched_steps`.

    Examples
    --------
    >>> s = settings("quick")
    >>> 3 * s.steps < aug_matched_steps(s) < 5 * s.steps
    True
    """
    flops = step_flops(config)  # checks config
    return max(1, round(config.steps * flops["G-CNN (C4)"] / flops["CNN"]))


def job(at: str | None = None) -> runtime.Job:
    """How big the lab is: every model at every size and seed (and the augmented CNN again at the :math:`C_4`
    G-CNN's compute, :func:`aug_matched_steps`), and the FLOPs of one training step of the most expensive model
    (counted on the meta device: no computation).

    Examples
    --------
    >>> j, s = job("quick"), settings("quick")
    >>> j.steps == len(s.seeds) * (len(MODELS) * s.steps + aug_matched_steps(s))
    True
    >>> j.flops_per_step > 0
    True
    """
    s = settings(at)  # checks at
    flops = step_flops(s).values()
    runs = len(MODELS) * len(s.sizes) * len(s.seeds)
    extra = len(s.sizes) * len(s.seeds) * aug_matched_steps(s)
    name = (f"{len(MODELS)} models (and the augmented CNN at the C4 G-CNN's compute) x {_count(len(s.sizes), 'size')} x "
            f"{_count(len(s.seeds), 'seed')}")
    return runtime.Job(name, runtime.size(at), runs * s.steps + extra, max(flops))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
