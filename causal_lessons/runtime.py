"""Run-time choices shared by every notebook: the size, iteration counts, the device, and seeding.

The environment variable ``CAUSAL_LESSONS_QUICK`` selects the size:

- ``CAUSAL_LESSONS_QUICK=1`` -- **quick**: every notebook runs in at most :data:`BUDGET_S` seconds on two CPU
  cores (the book build, CI, laptops);
- ``CAUSAL_LESSONS_QUICK=0`` -- **full**, meant for a GPU;
- ``CAUSAL_LESSONS_QUICK=smoke`` -- **smoke**: the full size's data, shapes, channels and depths, but at most
  :data:`SMOKE_STEPS` optimisation steps per training loop and one seed, so a CPU proves that the full-size
  configuration builds, trains a step and plots;
- unset -- full when a CUDA GPU is present (Colab with a GPU), quick otherwise.

Shapes and data sizes go through :func:`pick` (smoke takes the full value); iteration counts through
:func:`steps` and the number of seeds through :func:`seeds` (smoke takes at most two steps and one seed).

Two more variables show that no result of the book hangs on one run's particular values (``make variants`` builds
the book under each and reads every page):

- ``CAUSAL_LESSONS_SEED_OFFSET=k`` shifts every seed list of :func:`seeds` and the notebooks' global seed by ``k``;
- ``CAUSAL_LESSONS_THREADS=n`` has :func:`configure_threads` (called by every notebook's set-up) run torch's CPU
  kernels on ``n`` threads, which changes the order of floating-point sums.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from ._checks import check_positive_int
from .formatting import number

QUICK_ENV = "CAUSAL_LESSONS_QUICK"
SEED_OFFSET_ENV = "CAUSAL_LESSONS_SEED_OFFSET"
THREADS_ENV = "CAUSAL_LESSONS_THREADS"
#: Seconds of wall time a notebook may take at the quick size on two idle CPU cores (``bench/notebooks.py``
#: measures each against it).
BUDGET_S = 60

#: Seconds of wall time grading one submission of an exercise may take with its autograder zip on two idle CPU
#: cores (``bench/grading.py`` measures each exercise's reference solution against it).
GRADING_BUDGET_S = 10

#: A timed test fails only past this many times its budget: the budgets are for an idle machine, and a busy one (two
#: torch processes on two cores slow each other several times over) is no failure of the course.
TOLERANCE = 2

#: Environment for the kernels of a book build (``make book``, ``tests/test_book.py``, ``bench/notebooks.py``): torch
#: on one CPU thread. The quick size's models are small, so a second thread buys little (the context page: 30.6 s on
#: two threads, 33.0 s on one; the tokenization lab 36.6 s and 46.3 s), while two threads that spin-wait beside any
#: other busy process slow each other many times over (the context page beside a one-thread busy loop: over 250 s on
#: two threads). An explicit ``CAUSAL_LESSONS_THREADS`` wins (``make variants`` builds with two).
#: tqdm's own switch is set too: a progress bar saved in a built page is a frozen widget ("ERM: 88%") that loads
#: its code from a CDN; :func:`progress` leaves the decision to it.
KERNEL_ENV = {THREADS_ENV: "1", "TQDM_DISABLE": "1"}

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on", "quick"}
_FALSE = {"0", "false", "no", "off", "full"}
_SMOKE = {"smoke"}

#: The most optimisation steps a training loop takes at the smoke size.
SMOKE_STEPS = 2

SIZES = ("quick", "full", "smoke")


def size(override: str | None = None) -> str:
    """The selected size: ``"quick"``, ``"full"`` or ``"smoke"`` (see the module docstring for the rule).

    Parameters
    ----------
    override
        A size to use instead of the environment's (the "How to use" page tabulates every lab at every size).

    Examples
    --------
    >>> size() in SIZES
    True
    >>> size("full")
    'full'
    """
    if override is not None:
        if override not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {override!r}")
        return override
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


def pick(quick: T, full: T, at: str | None = None) -> T:
    """Return ``quick`` at the quick size and ``full`` at the full and smoke sizes: data sizes, shapes, widths.

    Iteration counts go through :func:`steps` instead, so that the smoke size can cut them.

    Parameters
    ----------
    quick, full
        The two values, e.g. sample sizes or numbers of channels.
    at
        A size to use instead of the selected one (see :func:`size`).

    Examples
    --------
    >>> pick(1_000, 1_000_000) == (1_000 if is_quick() else 1_000_000)
    True
    >>> pick(1_000, 1_000_000, at="smoke")
    1000000
    """
    return quick if size(at) == "quick" else full


def steps(quick: int, full: int, at: str | None = None) -> int:
    """The number of optimisation steps (or epochs) of a training loop at the selected size.

    Quick and full return their value; smoke returns ``min(full, SMOKE_STEPS)``, enough to prove that the
    full-size model builds, computes a loss and takes a step.

    Parameters
    ----------
    quick, full
        Positive step counts.
    at
        A size to use instead of the selected one (see :func:`size`).

    Examples
    --------
    >>> steps(150, 3_000) == {"quick": 150, "full": 3_000, "smoke": 2}[size()]
    True
    """
    quick = check_positive_int(quick, "quick")
    full = check_positive_int(full, "full")
    chosen = size(at)
    if chosen == "smoke":
        return min(full, SMOKE_STEPS)
    return quick if chosen == "quick" else full


def _non_negative_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def seed_offset() -> int:
    """The offset ``CAUSAL_LESSONS_SEED_OFFSET`` adds to every seed (0 when unset).

    Examples
    --------
    >>> seed_offset() >= 0
    True
    """
    return _non_negative_env(SEED_OFFSET_ENV) or 0


def seeds(quick: int, full: int, at: str | None = None) -> list[int]:
    """The seeds ``[k, k + 1, ..., k + n - 1]`` an experiment repeats over: ``quick`` or ``full`` of them, one at
    smoke, from the offset :math:`k` of :func:`seed_offset` (0 unless ``CAUSAL_LESSONS_SEED_OFFSET`` is set).

    Examples
    --------
    >>> k = seed_offset()
    >>> seeds(3, 5) == [k + i for i in {"quick": [0, 1, 2], "full": [0, 1, 2, 3, 4], "smoke": [0]}[size()]]
    True
    """
    quick = check_positive_int(quick, "quick")
    full = check_positive_int(full, "full")
    chosen = size(at)
    offset = seed_offset()
    return list(range(offset, offset + (1 if chosen == "smoke" else quick if chosen == "quick" else full)))


def configure_threads() -> int:
    """Run torch's CPU kernels on ``CAUSAL_LESSONS_THREADS`` threads when it is set; return the thread count.

    Examples
    --------
    >>> configure_threads() == torch.get_num_threads()
    True
    """
    threads = _non_negative_env(THREADS_ENV)
    if threads == 0:
        raise ValueError(f"{THREADS_ENV} must be at least 1, got 0")
    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def progress(iterable: Iterable[T], desc: str, show: bool = True) -> Iterable[T]:
    """``iterable`` with a progress bar (tqdm's; a widget in Jupyter and Colab) when ``show`` is true and the
    environment does not switch bars off.

    ``TQDM_DISABLE=1`` switches them off; a book build sets it (:data:`KERNEL_ENV`), since a bar saved in a page is
    a frozen widget. It is read here, at each call: tqdm's own reading of it does not reach its notebook bars, which
    always pass ``disable`` themselves.

    Parameters
    ----------
    iterable
        What to iterate over (a ``range``, a list of seeds, batches).
    desc
        The bar's label, e.g. ``"training"``.
    show
        False hides the bar whatever the environment says.

    Returns
    -------
    Iterable
        The same items, in order.

    Examples
    --------
    >>> list(progress(range(3), "steps", show=False))
    [0, 1, 2]
    """
    from tqdm.auto import tqdm

    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string (the bar's label), got {type(desc).__name__}")
    switched_off = os.environ.get("TQDM_DISABLE", "").strip().lower() in _TRUE
    return tqdm(iterable, desc=desc, disable=not show or switched_off)


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
    line = f"size: {size()} ({QUICK_ENV}={os.environ.get(QUICK_ENV, 'unset')}), device: {get_device()}"
    if seed_offset():
        line += f", seeds offset by {seed_offset()}"
    if os.environ.get(THREADS_ENV, "").strip():
        line += f", {torch.get_num_threads()} CPU thread{'s' * (torch.get_num_threads() != 1)}"
    return line


@dataclass(frozen=True)
class Job:
    """How big a lab's training is at one size: printed by each lab's first cell and tabulated on "How to use".

    Attributes
    ----------
    name
        What is trained ("outcome MLP", "3 models x 3 sizes x 2 seeds").
    size
        ``"quick"``, ``"full"`` or ``"smoke"``.
    steps
        Optimisation steps of the whole lab at this size (summed over models and seeds).
    flops_per_step
        Floating-point operations of one training step (forward and backward) of the largest model, measured
        by :func:`count_flops`.

    Examples
    --------
    >>> print(Job("an MLP", "quick", 600, 2_500_000))
    an MLP at the quick size: 600 training steps, 2.5 MFLOP per step, 1.5 GFLOP in all
    """

    name: str
    size: str
    steps: int
    flops_per_step: int

    @property
    def total_flops(self) -> int:
        """Steps times FLOPs per step: an upper bound on the training work."""
        return self.steps * self.flops_per_step

    def __str__(self) -> str:
        return (f"{self.name} at the {self.size} size: {self.steps:,} training steps, "
                f"{_si(self.flops_per_step)}FLOP per step, {_si(self.total_flops)}FLOP in all")


def _si(value: float) -> str:
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{number(value / scale, 1)} {unit}"
    return f"{number(value, 0)} "


def count_flops(step: Callable[[], Any]) -> int:
    """Floating-point operations of one call of ``step`` (e.g. a forward and backward pass), counted by torch's
    :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products and convolutions; element-wise work is not
    counted).

    Examples
    --------
    >>> layer = torch.nn.Linear(10, 5)
    >>> count_flops(lambda: layer(torch.zeros(4, 10)).sum().backward())  # 2*4*10*5 forward, as much for dW
    800
    """
    if not callable(step):
        raise TypeError(f"step must be a callable taking no arguments, got {type(step).__name__}")
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())
