"""Run-time choices shared by every notebook: the size, iteration counts, the device, and seeding.

The environment variable ``CAUSAL_LESSONS_QUICK`` selects the size:

- ``CAUSAL_LESSONS_QUICK=1`` -- **quick**: every notebook runs in at most 45 s on two CPU cores (the book
  build, CI, laptops);
- ``CAUSAL_LESSONS_QUICK=0`` -- **full**, meant for a GPU;
- ``CAUSAL_LESSONS_QUICK=smoke`` -- **smoke**: the full size's data, shapes, channels and depths, but at most
  :data:`SMOKE_STEPS` optimisation steps per training loop and one seed, so a CPU proves that the full-size
  configuration builds, trains a step and plots;
- unset -- full when a CUDA GPU is present (Colab with a GPU), quick otherwise.

Shapes and data sizes go through :func:`pick` (smoke takes the full value); iteration counts through
:func:`steps` and the number of seeds through :func:`seeds` (smoke takes at most two steps and one seed).
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

from ._checks import check_positive_int

QUICK_ENV = "CAUSAL_LESSONS_QUICK"

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on", "quick"}
_FALSE = {"0", "false", "no", "off", "full"}
_SMOKE = {"smoke"}

#: The most optimisation steps a training loop takes at the smoke size.
SMOKE_STEPS = 2

SIZES = ("quick", "full", "smoke")


def size() -> str:
    """The selected size: ``"quick"``, ``"full"`` or ``"smoke"`` (see the module docstring for the rule).

    Examples
    --------
    >>> size() in SIZES
    True
    """
    raw = os.environ.get(QUICK_ENV)
    if raw is None or raw.strip() == "":
        return "full" if torch.cuda.is_available() else "quick"
    value = raw.strip().lower()
    if value in _TRUE:
        return "quick"
    if value in _FALSE:
        return "full"
    if value in _SMOKE:
        return "smoke"
    raise ValueError(f"{QUICK_ENV} must be 1/0/smoke (or true/false/yes/no/on/off), got {raw!r}")


def is_quick() -> bool:
    """Whether the quick size is selected (the smoke size uses the full size's shapes, so it is not quick).

    Examples
    --------
    >>> is_quick() == (size() == "quick")
    True
    """
    return size() == "quick"


def pick(quick: T, full: T) -> T:
    """Return ``quick`` at the quick size and ``full`` at the full and smoke sizes: data sizes, shapes, widths.

    Iteration counts go through :func:`steps` instead, so that the smoke size can cut them.

    Parameters
    ----------
    quick, full
        The two values, e.g. sample sizes or numbers of channels.

    Examples
    --------
    >>> pick(1_000, 1_000_000) == (1_000 if is_quick() else 1_000_000)
    True
    """
    return quick if is_quick() else full


def steps(quick: int, full: int) -> int:
    """The number of optimisation steps (or epochs) of a training loop at the selected size.

    Quick and full return their value; smoke returns ``min(full, SMOKE_STEPS)``, enough to prove that the
    full-size model builds, computes a loss and takes a step.

    Parameters
    ----------
    quick, full
        Positive step counts.

    Examples
    --------
    >>> steps(150, 3_000) == {"quick": 150, "full": 3_000, "smoke": 2}[size()]
    True
    """
    quick = check_positive_int(quick, "quick")
    full = check_positive_int(full, "full")
    chosen = size()
    if chosen == "smoke":
        return min(full, SMOKE_STEPS)
    return quick if chosen == "quick" else full


def seeds(quick: int, full: int) -> list[int]:
    """The seeds ``[0, 1, ..., n - 1]`` an experiment repeats over: ``quick`` or ``full`` of them, one at smoke.

    Examples
    --------
    >>> seeds(3, 5) == {"quick": [0, 1, 2], "full": [0, 1, 2, 3, 4], "smoke": [0]}[size()]
    True
    """
    quick = check_positive_int(quick, "quick")
    full = check_positive_int(full, "full")
    chosen = size()
    return list(range(1 if chosen == "smoke" else quick if chosen == "quick" else full))


def get_device() -> torch.device:
    """The best available device: CUDA, else Apple MPS, else the CPU.

    Examples
    --------
    >>> get_device().type in {"cuda", "mps", "cpu"}
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python's ``random``, numpy's global state and torch (all devices).

    Parameters
    ----------
    seed
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for code that takes one explicitly.

    Examples
    --------
    >>> rng = seed_everything(7)
    >>> a = torch.rand(2); _ = seed_everything(7); bool(torch.equal(a, torch.rand(2)))
    True
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def describe() -> str:
    """One line saying which size and device this session uses.

    Examples
    --------
    >>> "size" in describe()
    True
    """
    return f"size: {size()} ({QUICK_ENV}={os.environ.get(QUICK_ENV, 'unset')}), device: {get_device()}"
