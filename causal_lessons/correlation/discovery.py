r"""Causal discovery: can the graph be found from data? A thin layer over causal-learn's PC algorithm.

PC starts from the complete undirected graph and removes the edge :math:`X - Y` as soon as it finds a set
:math:`S` of neighbours with :math:`X \perp Y \mid S` (Fisher's :math:`z` test on partial correlations at level
``alpha``); it then orients colliders. With few samples the tests have little power, so edges survive or vanish
by chance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .._checks import check_positive_int, check_probability


def pc_skeleton(data: pd.DataFrame, alpha: float = 0.05, columns: Sequence[str] | None = None) -> set[frozenset[str]]:
    """The undirected skeleton that causal-learn's PC algorithm finds.

    Parameters
    ----------
    data
        One column per variable, one row per sample; finite numbers.
    alpha
        Significance level of the Fisher-z independence tests: an edge is removed when some test of
        independence has a p-value above ``alpha`` (a *failure to reject*, not a proof of independence).
    columns
        Variables to use (default: every column).

    Returns
    -------
    set of frozenset
        Each edge as ``frozenset({a, b})``.

    Examples
    --------
    >>> from causal_lessons.correlation.scm import LinearTriangle
    >>> world = LinearTriangle(a=1.0, b=1.0, beta=0.0).scm().sample(2_000, seed=0)
    >>> sorted(tuple(sorted(e)) for e in pc_skeleton(world))
    [('C', 'G'), ('G', 'N')]
    """
    from causallearn.search.ConstraintBased.PC import pc

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    alpha = check_probability(alpha, "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if isinstance(columns, str):
        raise TypeError(f"columns must be a sequence of column names, not a single string: write [{columns!r}]")
    cols = list(columns) if columns is not None else list(data.columns)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"columns {missing} are not columns of data; columns: {list(data.columns)}")
    if len(cols) < 2 or len(data) < 5:
        raise ValueError(f"data must have at least 2 columns and 5 rows for PC, got {len(cols)} and {len(data)}")
    try:
        matrix = data[cols].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"data must hold numbers in columns {cols}") from None
    if not np.all(np.isfinite(matrix)):
        raise ValueError("data must hold only finite numbers (no NaN or inf)")
    if np.any(matrix.std(axis=0) == 0):
        raise ValueError("every column of data must vary: a constant column has no correlations to test")
    graph = pc(matrix, alpha, "fisherz", show_progress=False).G.graph
    return {
        frozenset((cols[i], cols[j]))
        for i in range(len(cols)) for j in range(i + 1, len(cols))
        if graph[i, j] != 0 or graph[j, i] != 0
    }


def pc_skeletons(sampler: Callable[..., pd.DataFrame], n: int, seeds: Sequence[int],
                 alpha: float = 0.05) -> list[set[frozenset[str]]]:
    """PC's skeleton on ``sampler(n, seed=s)`` for each seed ``s``: how PC behaves on many data sets of one world.

    Examples
    --------
    >>> from causal_lessons.correlation.scm import LinearTriangle
    >>> runs = pc_skeletons(LinearTriangle(a=1.0, b=1.0, beta=0.0).scm().sample, 2_000, range(2))
    >>> [frozenset({"C", "N"}) in run for run in runs]
    [False, False]
    """
    if not callable(sampler):
        raise TypeError(f"sampler must be callable as sampler(n, seed=...), got {type(sampler).__name__}")
    n = check_positive_int(n, "n", minimum=5)
    if isinstance(seeds, (str, bytes)):
        raise TypeError("seeds must be a sequence of integers, not a string")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    for s in seeds:
        check_positive_int(s, "seeds", minimum=0)
    return [pc_skeleton(sampler(n, seed=s), alpha) for s in seeds]


def skeleton_recovery_rate(
    sampler: Callable[..., pd.DataFrame], truth: set[frozenset[str]], n: int, seeds: Sequence[int],
    alpha: float = 0.05,
) -> float:
    """Fraction of seeds for which PC on ``sampler(n, seed)`` returns exactly the skeleton ``truth``.

    Examples
    --------
    >>> from causal_lessons.correlation.scm import LinearTriangle
    >>> model = LinearTriangle(a=1.0, b=1.0, beta=0.0).scm()
    >>> truth = {frozenset({"C", "G"}), frozenset({"G", "N"})}
    >>> skeleton_recovery_rate(model.sample, truth, n=2_000, seeds=range(3))
    1.0
    """
    if isinstance(truth, (str, bytes)) or not isinstance(truth, (set, frozenset, list, tuple)) or not all(
            isinstance(e, frozenset) and len(e) == 2 and all(isinstance(v, str) for v in e) for e in truth):
        raise TypeError("truth must be a set of edges, each a frozenset of two variable names")
    truth = set(truth)
    return float(np.mean([run == truth for run in pc_skeletons(sampler, n, seeds, alpha)]))
