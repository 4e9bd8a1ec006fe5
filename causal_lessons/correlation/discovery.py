r"""Causal discovery: can the graph be found from data? A thin layer over causal-learn's PC algorithm.

PC starts from the complete undirected graph and removes the edge :math:`X - Y` as soon as it finds a set
:math:`S` of neighbours with :math:`X \perp Y \mid S` (Fisher's :math:`z` test on partial correlations at level
``alpha``); it then orients colliders. With few samples the tests have little power, so edges survive or vanish
by chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_probability


def pc_skeleton(data: pd.DataFrame, alpha: float = 0.05, columns: Sequence[str] | None = None) -> set[frozenset[str]]:
    """The undirected skeleton that causal-learn's PC algorithm finds.

    Parameters
    ----------
    data
        One column per variable, one row per sample.
    alpha
        Significance level of the Fisher-z independence tests.
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
    cols = list(columns) if columns is not None else list(data.columns)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"columns {missing} are not columns of data; columns: {list(data.columns)}")
    if len(cols) < 2 or len(data) < 5:
        raise ValueError("data must have at least 2 columns and 5 rows for PC")
    matrix = data[cols].to_numpy(dtype=float)
    graph = pc(matrix, alpha, "fisherz", show_progress=False).G.graph
    return {
        frozenset((cols[i], cols[j]))
        for i in range(len(cols)) for j in range(i + 1, len(cols))
        if graph[i, j] != 0 or graph[j, i] != 0
    }


def skeleton_recovery_rate(
    sampler: Any, truth: set[frozenset[str]], n: int, seeds: Sequence[int], alpha: float = 0.05
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
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    hits = [pc_skeleton(sampler(n, seed=s), alpha) == truth for s in seeds]
    return float(np.mean(hits))
