"""Chapter 3's rows of the claim check, measured once by :func:`measure` and judged by :func:`claims`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .. import runtime
from ..claims import Claim, Interval, above, below, cached, make_claim, over_seeds
from .disentangle import disentangled_encoder, entangled_encoder, leakage
from .group_conv import C4_ON_IMAGES, C4_ON_LIFTED, GroupConvC4, LiftingConvC4, equivariance_error
from .rotated_digits import learning_curves


@dataclass(frozen=True)
class EquivarianceResults:
    """What chapter 3 measures: exactness of the group convolutions, the rotated-digits learning curves and the
    leakage of two reference encoders."""

    group_conv_error: float
    plain_conv_error: float
    curves: pd.DataFrame
    steps: int
    leakage_disentangled: float
    leakage_entangled: float


@cached
def measure(sizes: tuple[int, ...] | None = None, n_seeds: int | None = None,
            steps: int | None = None) -> EquivarianceResults:
    """Run chapter 3's measurements (the rotated-digits experiment trains every model once per size and seed).

    Examples
    --------
    >>> res = measure(sizes=(30,), n_seeds=2, steps=5)
    >>> res.group_conv_error < 1e-5
    True
    """
    torch.manual_seed(0)
    x = torch.randn(2, 3, 15, 15)
    lift, group = LiftingConvC4(3, 8, 5), GroupConvC4(8, 8, 3)
    err = max(equivariance_error(lift, x, C4_ON_IMAGES, C4_ON_LIFTED),
              equivariance_error(lambda t: group(lift(t)), x, C4_ON_IMAGES, C4_ON_LIFTED))
    plain = equivariance_error(torch.nn.Conv2d(3, 32, 5, padding=2), x, C4_ON_IMAGES, C4_ON_IMAGES)
    sizes = list(sizes) if sizes is not None else runtime.pick([50, 400], [50, 100, 200, 400, 800, 1_200])
    seeds = list(range(n_seeds)) if n_seeds is not None else runtime.seeds(2, 5)
    steps = steps if steps is not None else runtime.steps(150, 600)
    curves = learning_curves(sizes, seeds, steps=steps, progress=False)
    return EquivarianceResults(err, plain, curves, steps, leakage(disentangled_encoder)["mean"],
                               leakage(entangled_encoder)["mean"])


def claims(results: EquivarianceResults | None = None) -> list[Claim]:
    """Rows for chapter 3, "Group-theoretic equivariance and disentanglement".

    Examples
    --------
    >>> [c.verdict for c in claims(measure(sizes=(30,), n_seeds=2, steps=5))][0]
    'holds'
    """
    res = measure() if results is None else results
    curves = res.curves
    largest = curves["size"].max()
    at = curves[curves["size"] == largest].pivot(index="seed", columns="model", values="rotated test")
    gain = (at["G-CNN (C4)"] - at["CNN"]).tolist()
    aug = (at["CNN + rotation augmentation"] - at["CNN"]).tolist()
    n_seeds = len(at)
    findings = [
        above(over_seeds(gain) if n_seeds > 1 else Interval.exact(gain[0]), 0.0,
              f"rotated accuracy, G-CNN minus CNN, {largest} digits"),
        above(over_seeds(aug) if n_seeds > 1 else Interval.exact(aug[0]), 0.0,
              f"rotated accuracy, CNN + augmentation minus CNN, {largest} digits"),
    ]
    return [
        make_claim("equivariance", "Group convolutions are equivariant by construction", [
            below(Interval.exact(res.group_conv_error), 1e-5, "C4 lifting + group conv, relative error (float32)", 2),
            above(Interval.exact(res.plain_conv_error), 0.1, "a plain Conv2d, relative error", 2),
        ]),
        make_claim("equivariance", "Equivariance cannot be bought with data; decomposability can", findings,
                   f"rotated digits, {res.steps} training steps, {n_seeds} seeds"),
        make_claim("equivariance", "Disentanglement is a block-wise group action (Higgins et al.)", [
            below(Interval.exact(res.leakage_disentangled), 1e-6, "leakage of a hand-built disentangled code", 2),
            above(Interval.exact(res.leakage_entangled), 0.1, "leakage of the same code mixed by a rotation", 2),
        ]),
    ]
