"""The configuration of chapter 6's lab (``book/tokenization/lab.ipynb``): a VQ-VAE, then the same tiny
transformer trained on its token grids in raster and in dilated order, over several seeds.

:func:`settings` gives the sizes at the selected size (quick, full or smoke); :func:`job` says how big the
training is, with the FLOPs of one training step counted on the meta device (no real computation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import runtime
from .._checks import check_positive_int
from ..claims import over_seeds
from ..formatting import number
from .tiny_gpt import SCANS, TinyGPT, gpt_loss
from .vqvae import VQVAE, vqvae_loss


@dataclass(frozen=True)
class LabSettings:
    """The lab's sizes at one size.

    Attributes
    ----------
    size
        ``"quick"``, ``"full"`` or ``"smoke"``.
    crop, n_train, n_test
        Side of the square crops (pixels), training and held-out crops.
    k
        VQ-VAE codebook entries.
    vq_steps, vq_batch
        VQ-VAE optimisation steps and batch size.
    gpt_steps, gpt_batch, gpt_dim, gpt_layers, gpt_heads
        Transformer steps, batch size (sequences), width, depth and heads: the same for both orders.
    seeds
        The transformer seeds (one model per order and seed).
    """

    size: str
    crop: int
    n_train: int
    n_test: int
    k: int
    vq_steps: int
    vq_batch: int
    gpt_steps: int
    gpt_batch: int
    gpt_dim: int
    gpt_layers: int
    gpt_heads: int
    seeds: tuple[int, ...]

    @property
    def grid(self) -> int:
        """Tokens per side of the VQ-VAE grid (the crop side over 4)."""
        return self.crop // 4

    @property
    def length(self) -> int:
        """Tokens per image."""
        return self.grid * self.grid


def _size(at: str | None) -> str:
    if at is not None and at not in runtime.SIZES:
        raise ValueError(f"at must be one of {runtime.SIZES} or None, got {at!r}")
    return runtime.size(at)


def settings(at: str | None = None) -> LabSettings:
    """The lab's sizes at the selected size, or at ``at``.

    Examples
    --------
    >>> s = settings("smoke")
    >>> s.crop == settings("full").crop, s.vq_steps, s.gpt_steps, s.seeds
    (True, 2, 2, (0,))
    """
    size = _size(at)
    return LabSettings(
        size=size,
        crop=runtime.pick(32, 64, at),
        n_train=runtime.pick(2_000, 20_000, at),
        n_test=runtime.pick(500, 2_000, at),
        k=runtime.pick(64, 256, at),
        vq_steps=runtime.steps(200, 6_000, at),
        vq_batch=runtime.pick(64, 512, at),
        gpt_steps=runtime.steps(150, 6_000, at),
        gpt_batch=runtime.pick(32, 256, at),
        gpt_dim=runtime.pick(32, 128, at),
        gpt_layers=runtime.pick(2, 4, at),
        gpt_heads=runtime.pick(4, 8, at),
        seeds=tuple(runtime.seeds(3, 3, at)),
    )


def job(at: str | None = None) -> runtime.Job:
    """How big the lab's training is: total optimisation steps, and the FLOPs of one training step of the
    larger of its two models (VQ-VAE or transformer), counted on the meta device.

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps == settings("quick").vq_steps + 2 * 3 * settings("quick").gpt_steps, j.flops_per_step > 0
    (True, True)
    """
    s = settings(at)
    with torch.device("meta"):
        vq = VQVAE(s.k)
        images = torch.zeros(s.vq_batch, 1, s.crop, s.crop)
        gpt = TinyGPT(s.k, s.length, dim=s.gpt_dim, layers=s.gpt_layers, heads=s.gpt_heads)
        tokens = torch.zeros(s.gpt_batch, s.length, dtype=torch.long)
        flops = max(runtime.count_flops(lambda: vqvae_loss(vq, images).backward()),
                    runtime.count_flops(lambda: gpt_loss(gpt, tokens).backward()))
    steps = s.vq_steps + len(SCANS) * len(s.seeds) * s.gpt_steps
    seeds = f"{len(s.seeds)} seed" + "s" * (len(s.seeds) > 1)
    name = f"VQ-VAE + {len(SCANS)} orders x {seeds} of a transformer"
    return runtime.Job(name, s.size, steps, flops)


def summarise(table: pd.DataFrame, length: int) -> str:
    """The lab's conclusion, built from its table of runs (columns ``order``, ``seed``, ``parameters``,
    ``steps``, ``batch``, ``test perplexity``): the budgets, and which order reaches the lower held-out perplexity,
    judged by the t interval over seeds of the difference in log perplexity (raster minus dilated, paired by
    seed). With one seed (the smoke size) no interval is possible and the sentence says so.

    Examples
    --------
    >>> runs = pd.DataFrame({"order": ["raster", "dilated"] * 3, "seed": [0, 0, 1, 1, 2, 2],
    ...                      "parameters": 1000, "steps": 10, "batch": 4,
    ...                      "test perplexity": [5.0, 6.0, 5.1, 6.2, 4.9, 5.9]})
    >>> print(summarise(runs, length=64))  # doctest: +NORMALIZE_WHITESPACE
    Both orders: 1,000 parameters, 10 steps of 4 sequences each (equal). Held-out perplexity is lower for the
    raster order: log perplexity, raster minus dilated, -0.188 (95% CI -0.205 to -0.171) (the interval covers
    the transformer seeds only: one VQ-VAE, one set of crops, one split); 149 against 166 bits per image. An ideal
    model would give both orders the same value.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame of runs, got {type(table).__name__}")
    needed = {"order", "seed", "parameters", "steps", "batch", "test perplexity"}
    if not needed <= set(table.columns) or table.empty:
        raise ValueError(f"table must be a non-empty table with columns {sorted(needed)}")
    if set(table["order"]) != {"raster", "dilated"}:
        raise ValueError("table must hold runs of both orders, 'raster' and 'dilated'")
    numbers = table[sorted(needed - {"order"})]
    if numbers.isna().to_numpy().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        raise ValueError("table must hold finite numbers (no NaN or inf)")
    length = check_positive_int(length, "length")
    equal = all(table[c].nunique() == 1 for c in ("parameters", "steps", "batch"))
    first = table.iloc[0]
    budget = (f"Both orders: {int(first['parameters']):,} parameters, {int(first['steps']):,} steps of "
              f"{int(first['batch'])} sequences each ({'equal' if equal else 'NOT equal'}).")
    log_ppl = np.log(table.pivot(index="seed", columns="order", values="test perplexity"))
    bits = {k: float(np.log2(np.exp(log_ppl[k].mean()))) * length for k in ("raster", "dilated")}
    delta = (log_ppl["raster"] - log_ppl["dilated"]).to_numpy()
    if len(delta) < 2:
        result = (f"With one seed there is no interval: log perplexity, raster minus dilated, "
                  f"{number(delta[0], 3)}")
    else:
        diff = over_seeds(delta)
        verdict = ("lower for the raster order" if diff.high < 0 else "lower for the dilated order"
                   if diff.low > 0 else "not distinguishable between the orders")
        result = (f"Held-out perplexity is {verdict}: log perplexity, raster minus dilated, {diff.text()} "
                  "(the interval covers the transformer seeds only: one VQ-VAE, one set of crops, one split)")
    return (f"{budget} {result}; {number(bits['raster'], 0)} against {number(bits['dilated'], 0)} bits per image. "
            "An ideal model would give both orders the same value.")
