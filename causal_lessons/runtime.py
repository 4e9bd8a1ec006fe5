"""Run-time choices shared by every notebook: quick or full size, the device, and seeding.

The environment variable ``CAUSAL_LESSONS_QUICK`` selects the size:

- ``CAUSAL_LESSONS_QUICK=1`` -- quick size: every notebook runs in well under a minute on two CPU cores
  (used by the book build, CI and laptops);
- ``CAUSAL_LESSONS_QUICK=0`` -- full size, meant for a GPU;
- unset -- full size when a CUDA GPU is present (Colab with a GPU), quick size otherwise.
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

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def is_quick() -> bool:
    """Whether the quick size is selected.

    Returns
    -------
    bool
        ``True`` for the quick size (see the module docstring for the rule).

    Examples
    --------
    >>> isinstance(is_quick(), bool)
    True
    """
    raw = os.environ.get(QUICK_ENV)
    if raw is None or raw.strip() == "":
        return not torch.cuda.is_available()
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{QUICK_ENV} must be one of 1/0/true/false/yes/no/on/off, got {raw!r}")


def pick(quick: T, full: T) -> T:
    """Return ``quick`` at the quick size and ``full`` at the full size.

    Parameters
    ----------
    quick, full
        The two values, e.g. sample sizes or epoch counts.

    Examples
    --------
    >>> pick(1_000, 1_000_000) == (1_000 if is_quick() else 1_000_000)
    True
    """
    return quick if is_quick() else full


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
    size = "quick" if is_quick() else "full"
    return f"size: {size} ({QUICK_ENV}={os.environ.get(QUICK_ENV, 'unset')}), device: {get_device()}"
