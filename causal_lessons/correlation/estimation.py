r"""Estimation helpers shared by the chapters, labs and exercises.

Pearson's :math:`r` with a Fisher-:math:`z` confidence interval, least-squares regression with an adjustment
set (the backdoor adjustment for linear models), and partial correlation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._checks import as_1d_float


@dataclass(frozen=True)
class Correlation:
    """Pearson's correlation with its confidence interval and two-sided p-value."""

    r: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    confidence: float


def pearson(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> Correlation:
    r"""Pearson's :math:`r`, a Fisher-:math:`z` confidence interval and the p-value of :math:`r = 0`.

    .. math::
        r = \frac{\sum_i (x_i-\bar x)(y_i-\bar y)}{\sqrt{\sum_i (x_i-\bar x)^2 \sum_i (y_i-\bar y)^2}},
        \qquad z = \operatorname{artanh} r \pm \frac{z_{1-\alpha/2}}{\sqrt{n-3}}.

    Parameters
    ----------
    x, y
        Two samples of the same length ``n >= 4``.
    confidence
        Coverage of the interval, in (0, 1).

    Examples
    --------
    >>> c = pearson([1, 2, 3, 4, 5], [1.1, 1.9, 3.2, 3.9, 5.1])
    >>> round(c.r, 3), c.ci_low < c.r < c.ci_high
    (0.996, True)
    """
    xs = as_1d_float(x, "x", min_len=4)
    ys = as_1d_float(y, "y", min_len=4)
    if xs.size != ys.size:
        raise ValueError(f"x and y must have the same length, got {xs.size} and {ys.size}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        raise ValueError("x and y must both vary: a constant sample has no correlation")
    result = stats.pearsonr(xs, ys)
    r = float(result.statistic)
    half = stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(xs.size - 3)
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return Correlation(
        r=r,
        ci_low=float(np.tanh(z - half)),
        ci_high=float(np.tanh(z + half)),
        p_value=float(result.pvalue),
        n=int(xs.size),
        confidence=float(confidence),
    )


def _columns(data: Mapping[str, Any] | Any, names: Sequence[str], argument: str) -> list[np.ndarray]:
    cols = []
    for name in names:
        try:
            col = data[name]
        except (KeyError, IndexError, TypeError, ValueError):
            available = list(data.keys()) if hasattr(data, "keys") else []
            raise ValueError(f"{argument} names {name!r}, which is not a column of data; columns: {available}") from None
        cols.append(as_1d_float(np.asarray(col), f"data[{name!r}]"))
    return cols


def regression_coefficients(
    data: Mapping[str, Any] | Any, outcome: str, regressors: Sequence[str]
) -> dict[str, float]:
    r"""Least-squares coefficients of ``outcome ~ 1 + regressors``.

    Parameters
    ----------
    data
        A pandas DataFrame or a mapping from names to equal-length 1-D arrays.
    outcome
        Column to explain.
    regressors
        Columns to regress on (an intercept is always added and reported as ``"intercept"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000)
    >>> coefs = regression_coefficients({"x": x, "y": 2 * x + 1}, "y", ["x"])
    >>> round(coefs["x"], 6), round(coefs["intercept"], 6)
    (2.0, 1.0)
    """
    if isinstance(regressors, str):
        raise TypeError("regressors must be a sequence of column names, not a single string")
    (y,) = _columns(data, [outcome], "outcome")
    xs = _columns(data, list(regressors), "regressors")
    if any(col.size != y.size for col in xs):
        raise ValueError("every column of data must have the same length")
    design = np.column_stack([np.ones_like(y), *xs])
    if y.size <= design.shape[1]:
        raise ValueError(f"data needs more rows ({y.size}) than coefficients ({design.shape[1]})")
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return {"intercept": float(coef[0]), **{name: float(c) for name, c in zip(regressors, coef[1:])}}


def adjusted_effect(
    data: Mapping[str, Any] | Any, treatment: str, outcome: str, adjust: Sequence[str] = ()
) -> float:
    r"""Linear backdoor adjustment: the coefficient of ``treatment`` in ``outcome ~ treatment + adjust``.

    With ``adjust=()`` this is the naive slope :math:`\operatorname{Cov}(X,Y)/\operatorname{Var}(X)`.
    When ``adjust`` blocks every backdoor path and the model is linear, it is the causal effect
    :math:`\partial\,E[Y \mid do(X=x)]/\partial x`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = rng.normal(size=50_000); c = g + rng.normal(size=50_000); n = g + rng.normal(size=50_000)
    >>> data = {"G": g, "C": c, "N": n}
    >>> round(adjusted_effect(data, "C", "N"), 1), round(abs(adjusted_effect(data, "C", "N", ["G"])), 1)
    (0.5, 0.0)
    """
    if treatment in adjust or outcome in adjust:
        raise ValueError("adjust must not contain the treatment or the outcome")
    return regression_coefficients(data, outcome, [treatment, *adjust])[treatment]


def partial_correlation(data: Mapping[str, Any] | Any, x: str, y: str, given: Sequence[str]) -> float:
    r"""Correlation of ``x`` and ``y`` after removing the linear effect of ``given`` from both.

    .. math:: \rho_{XY\cdot Z} = \operatorname{corr}(X - \hat X(Z),\; Y - \hat Y(Z))

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> g = rng.normal(size=20_000)
    >>> data = {"G": g, "C": g + rng.normal(size=20_000), "N": g + rng.normal(size=20_000)}
    >>> abs(partial_correlation(data, "C", "N", ["G"])) < 0.03
    True
    """
    if isinstance(given, str):
        raise TypeError("given must be a sequence of column names, not a single string")
    xv, yv = _columns(data, [x, y], "x/y")
    zs = _columns(data, list(given), "given")
    design = np.column_stack([np.ones_like(xv), *zs])
    rx = xv - design @ np.linalg.lstsq(design, xv, rcond=None)[0]
    ry = yv - design @ np.linalg.lstsq(design, yv, rcond=None)[0]
    return float(np.corrcoef(rx, ry)[0, 1])
