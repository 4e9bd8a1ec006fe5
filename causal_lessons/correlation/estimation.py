r"""Estimation helpers shared by the chapters, labs and exercises.

Pearson's :math:`r` with a Fisher-:math:`z` confidence interval, least-squares regression with an adjustment
set (the backdoor adjustment for linear models), and partial correlation (with Fisher's interval and test, the
test the PC algorithm runs).
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
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) \
            or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
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


def _names(value: Any, argument: str) -> list[str]:
    """A list of column names, or a clear error (a single string is the usual slip: ``adjust="GDP"``)."""
    if isinstance(value, str):
        raise TypeError(f"{argument} must be a sequence of column names, not a single string: "
                        f"write [{value!r}] for one column")
    try:
        names = list(value)
    except TypeError:
        raise TypeError(f"{argument} must be a sequence of column names, got {type(value).__name__}") from None
    bad = [v for v in names if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{argument} must hold column names (strings), got {bad!r}")
    return names


def _name(value: Any, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a column name (a string), got {type(value).__name__}")
    return value


def _columns(data: Mapping[str, Any] | Any, names: Sequence[str], argument: str) -> list[np.ndarray]:
    if not hasattr(data, "keys") or isinstance(data, (str, bytes)):
        raise TypeError(f"data must be a pandas DataFrame or a mapping from names to columns, "
                        f"got {type(data).__name__}")
    cols = []
    for name in names:
        if name not in data.keys():
            raise ValueError(f"{argument} names {name!r}, which is not a column of data; "
                             f"columns: {list(data.keys())}")
        cols.append(as_1d_float(np.asarray(data[name]), f"data[{name!r}]"))
    if any(col.size != cols[0].size for col in cols):
        raise ValueError("every column of data must have the same length, got "
                         f"{ {n: c.size for n, c in zip(names, cols)} }")
    return cols


def regression_coefficients(
    data: Mapping[str, Any] | Any, outcome: str, regressors: Sequence[str]
) -> dict[str, float]:
    r"""Least-squares coefficients of ``outcome ~ 1 + regressors``.

    .. math:: \hat\theta = \arg\min_\theta \lVert y - X\theta \rVert^2, \qquad X = [\mathbf 1, x_1, \ldots, x_k].

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
    outcome = _name(outcome, "outcome")
    regressors = _names(regressors, "regressors")
    y, *xs = _columns(data, [outcome, *regressors], "outcome/regressors")
    design = np.column_stack([np.ones_like(y), *xs])
    if y.size <= design.shape[1]:
        raise ValueError(f"data needs more rows ({y.size}) than coefficients ({design.shape[1]})")
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"regressors {regressors} are collinear (or constant) in data: the coefficients are "
                         "not identified")
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return {"intercept": float(coef[0]), **{name: float(c) for name, c in zip(regressors, coef[1:])}}


def adjusted_effect(
    data: Mapping[str, Any] | Any, treatment: str, outcome: str, adjust: Sequence[str] = ()
) -> float:
    r"""Linear backdoor adjustment: the coefficient of ``treatment`` in ``outcome ~ 1 + treatment + adjust``.

    With ``adjust=()`` this is the naive slope :math:`\operatorname{Cov}(X,Y)/\operatorname{Var}(X)`.
    When ``adjust`` blocks every backdoor path and the model is linear, it is the causal effect
    :math:`\partial\,E[Y \mid do(X=x)]/\partial x`.

    Parameters
    ----------
    data
        A pandas DataFrame or a mapping from names to equal-length 1-D arrays.
    treatment, outcome
        Column names.
    adjust
        A sequence of column names (``["GDP"]``, not ``"GDP"``): the adjustment set.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = rng.normal(size=50_000); c = g + rng.normal(size=50_000); n = g + rng.normal(size=50_000)
    >>> data = {"G": g, "C": c, "N": n}
    >>> round(adjusted_effect(data, "C", "N"), 1), round(abs(adjusted_effect(data, "C", "N", ["G"])), 1)
    (0.5, 0.0)
    """
    treatment = _name(treatment, "treatment")
    outcome = _name(outcome, "outcome")
    adjust = _names(adjust, "adjust")
    if treatment in adjust or outcome in adjust:
        raise ValueError(f"adjust must not contain the treatment or the outcome, got {adjust}")
    if treatment == outcome:
        raise ValueError(f"treatment and outcome must be different columns, got {treatment!r} twice")
    return regression_coefficients(data, outcome, [treatment, *adjust])[treatment]


def _residual_pair(data: Mapping[str, Any] | Any, x: str, y: str, given: Sequence[str]) -> tuple[np.ndarray,
                                                                                                    np.ndarray]:
    x, y = _name(x, "x"), _name(y, "y")
    given = _names(given, "given")
    if x == y or x in given or y in given:
        raise ValueError(f"x, y and given must name different columns, got x = {x!r}, y = {y!r}, given = {given}")
    xv, yv, *zs = _columns(data, [x, y, *given], "x/y/given")
    design = np.column_stack([np.ones_like(xv), *zs])
    if xv.size < design.shape[1] + 2:
        raise ValueError(f"data needs at least {design.shape[1] + 2} rows for a partial correlation given "
                         f"{len(given)} columns, got {xv.size}")
    rx = xv - design @ np.linalg.lstsq(design, xv, rcond=None)[0]
    ry = yv - design @ np.linalg.lstsq(design, yv, rcond=None)[0]
    scale = max(np.abs(xv).max(), np.abs(yv).max(), 1.0)
    if np.abs(rx).max() <= 1e-12 * scale or np.abs(ry).max() <= 1e-12 * scale:
        raise ValueError("x and y must vary once given is removed: a residual is constant, so the partial "
                         "correlation is undefined")
    return rx, ry


def partial_correlation(data: Mapping[str, Any] | Any, x: str, y: str, given: Sequence[str]) -> float:
    r"""Correlation of ``x`` and ``y`` after removing the linear effect of ``given`` (and a constant) from both.

    .. math:: \rho_{XY\cdot Z} = \operatorname{corr}\big(X - \hat X(Z),\; Y - \hat Y(Z)\big)

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> g = rng.normal(size=20_000)
    >>> data = {"G": g, "C": g + rng.normal(size=20_000), "N": g + rng.normal(size=20_000)}
    >>> abs(partial_correlation(data, "C", "N", ["G"])) < 0.03
    True
    """
    rx, ry = _residual_pair(data, x, y, given)
    return float(np.corrcoef(rx, ry)[0, 1])


def partial_pearson(data: Mapping[str, Any] | Any, x: str, y: str, given: Sequence[str],
                    confidence: float = 0.95) -> Correlation:
    r"""The partial correlation with Fisher's :math:`z` interval and the p-value of :math:`\rho_{XY\cdot Z} = 0`.

    For :math:`n` rows and :math:`k` columns in ``given`` (normal data),

    .. math::
        \operatorname{artanh} \hat\rho_{XY\cdot Z} \pm \frac{z_{1-\alpha/2}}{\sqrt{n - k - 3}},
        \qquad p = 2\Big(1 - \Phi\big(\sqrt{n - k - 3}\,\lvert\operatorname{artanh}\hat\rho\rvert\big)\Big).

    The test is the one the PC algorithm runs (causal-learn's ``fisherz``), so its p-values decide PC's edges.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> g = rng.normal(size=400)
    >>> data = {"G": g, "C": g + rng.normal(size=400), "N": g + rng.normal(size=400)}
    >>> res = partial_pearson(data, "C", "N", ["G"])
    >>> res.ci_low < 0 < res.ci_high, res.p_value > 0.05
    (True, True)
    """
    rx, ry = _residual_pair(data, x, y, given)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) \
            or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    n, k = rx.size, len(list(given))
    if n - k - 3 < 1:
        raise ValueError(f"data needs at least {k + 4} rows for Fisher's z given {k} columns, got {n}")
    rho = float(np.corrcoef(rx, ry)[0, 1])
    z = float(np.arctanh(np.clip(rho, -1 + 1e-15, 1 - 1e-15)))
    se = 1 / np.sqrt(n - k - 3)
    half = stats.norm.ppf(0.5 + confidence / 2) * se
    return Correlation(r=rho, ci_low=float(np.tanh(z - half)), ci_high=float(np.tanh(z + half)),
                       p_value=float(2 * stats.norm.sf(abs(z) / se)), n=int(n), confidence=float(confidence))
