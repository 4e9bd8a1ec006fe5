r"""Association and intervention from image-level labels: what co-occurrence statistics hide.

For a 0/1 label matrix :math:`L` (images by classes):

- association: :math:`P(Y \mid X) = \#(X, Y) / \#X`, counted over images;
- VC R-CNN's object-strata estimate of :math:`P(Y \mid do(X))` (Wang et al., CVPR 2020), which treats every
  *other* category :math:`z \notin \{X, Y\}` as a confounder stratum:

  .. math::
      P(Y \mid do(X)) \approx \frac{\sum_{z \in S} P(Y \mid X, z)\, P(z)}{\sum_{z \in S} P(z)},
      \qquad P(Y \mid X, z) = \frac{\#(X, z, Y)}{\#(X, z)},

  where :math:`P(z)` is the image frequency of :math:`z` and :math:`S` the strata with :math:`\#(X, z) > 0`.

  **Positivity is dropped silently.** Backdoor adjustment needs :math:`P(Y \mid X, z)` in *every* stratum; where
  :math:`X` never occurs with :math:`z` (:math:`\#(X, z) = 0`, positivity fails) the estimator does not stop: it
  leaves the stratum out and renormalises :math:`P(z)` over the rest, so the estimate averages over the strata in
  which :math:`X` happens to occur, not over all of them. :func:`skipped_strata` lists what was left out (for a
  hair drier on COCO train2014, most of the strata).

The whole :math:`K \times K` table needs the three-way counts :math:`T_{xzy} = \#(x, z, y)`; they come from one
matrix product per class :math:`x` (the rows containing :math:`x`, :math:`L_x^\top L_x`), never from a loop over
pairs.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import LabelSet

Class = int | str


def as_label_matrix(labels: Any) -> np.ndarray:
    """Validate a label matrix (or :class:`~causal_lessons.datasets.LabelSet`); return it as ``uint8``.

    Examples
    --------
    >>> as_label_matrix([[1, 0], [1, 1]]).dtype
    dtype('uint8')
    """
    matrix = labels.labels if isinstance(labels, LabelSet) else labels
    try:
        arr = np.asarray(matrix)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"labels must be a 2-D 0/1 array, got {type(matrix).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"labels must be a 2-D array (images x classes), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] < 2:
        raise ValueError(f"labels must have at least one image and two classes, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
        raise ValueError("labels must hold only 0 and 1 (class absent / present)")
    return arr.astype(np.uint8)


def _names_of(labels: Any, names: Sequence[str] | None, k: int) -> tuple[str, ...] | None:
    if names is None and isinstance(labels, LabelSet):
        names = labels.names
    if names is not None and len(names) != k:
        raise ValueError(f"names must have one entry per class ({k}), got {len(names)}")
    return tuple(names) if names is not None else None


def class_index(cls: Class, names: Sequence[str] | None, k: int, argument: str = "class") -> int:
    """Resolve a class given by index or name; unknown names get the closest names suggested.

    Examples
    --------
    >>> class_index("sink", ("toilet", "sink"), 2)
    1
    >>> class_index("hair dryer", ("hair drier", "sink"), 2)
    Traceback (most recent call last):
    ...
    ValueError: unknown class name 'hair dryer' for class; did you mean 'hair drier'?
    """
    if isinstance(cls, (bool, np.bool_)):
        raise TypeError(f"{argument} must be a class index or name, got a bool")
    if isinstance(cls, (int, np.integer)):
        if not 0 <= int(cls) < k:
            raise ValueError(f"{argument} index must be in [0, {k}), got {cls}")
        return int(cls)
    if isinstance(cls, str):
        if names is None:
            raise ValueError(f"{argument} is a name ({cls!r}) but no class names were given")
        if cls in names:
            return list(names).index(cls)
        close = difflib.get_close_matches(cls, list(names), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f"; known names: {list(names)}"
        raise ValueError(f"unknown class name {cls!r} for {argument}{hint}")
    raise TypeError(f"{argument} must be a class index or name, got {type(cls).__name__}")


def _resolve_pair(labels: Any, y: Class, x: Class, names: Sequence[str] | None,
                  quantity: str) -> tuple[np.ndarray, tuple[str, ...] | None, int, int, np.ndarray]:
    """Validated labels, names, the two class indices and the mask of images containing ``x``."""
    matrix = as_label_matrix(labels)
    k = matrix.shape[1]
    names = _names_of(labels, names, k)
    xi, yi = class_index(x, names, k, "x"), class_index(y, names, k, "y")
    has_x = matrix[:, xi] == 1
    if not has_x.any():
        raise ValueError(f"x ({x!r}) never occurs in labels: {quantity} is undefined")
    return matrix, names, xi, yi, has_x


def three_way_counts(labels: Any) -> np.ndarray:
    r"""Counts :math:`T_{xzy} = \#\{\text{images containing } x, z \text{ and } y\}`, shape ``(K, K, K)``.

    :math:`T_{xzz} = \#(x, z)` and :math:`T_{xxx} = \#x`.

    Examples
    --------
    >>> T = three_way_counts([[1, 1, 1], [1, 1, 0], [0, 1, 1]])
    >>> int(T[0, 1, 2]), int(T[0, 1, 1]), int(T[1, 1, 1])
    (1, 2, 3)
    """
    matrix = as_label_matrix(labels)
    k = matrix.shape[1]
    counts = np.zeros((k, k, k), dtype=np.int64)
    for x in range(k):
        rows = matrix[matrix[:, x] == 1].astype(np.float32)
        # float32 products of 0/1 entries are exact for counts below 2**24 (16.7 million images).
        counts[x] = np.rint(rows.T @ rows).astype(np.int64)
    return counts


def conditional_matrix(labels: Any) -> np.ndarray:
    r"""The association table :math:`A_{xy} = P(Y=y \mid X=x) = \#(x, y) / \#x`; rows of absent classes are NaN.

    Examples
    --------
    >>> conditional_matrix([[1, 1], [1, 0]])
    array([[1. , 0.5],
           [1. , 1. ]])
    """
    matrix = as_label_matrix(labels).astype(np.float64)
    co = matrix.T @ matrix
    with np.errstate(invalid="ignore", divide="ignore"):
        return co / np.diag(co)[:, None]


def conditional(labels: Any, y: Class, x: Class, names: Sequence[str] | None = None) -> float:
    r""":math:`P(Y \mid X) = \#(X, Y) / \#X` over images.

    Examples
    --------
    >>> from causal_lessons.datasets import load_coco_labels
    >>> round(conditional(load_coco_labels("train2014"), "sink", "hair drier"), 4)
    0.5625
    """
    matrix, _, _, yi, has_x = _resolve_pair(labels, y, x, names, "P(Y | X)")
    return float(matrix[has_x, yi].mean())


def _interventional_from_counts(counts: np.ndarray, n_images: int) -> np.ndarray:
    k = counts.shape[0]
    pair = np.einsum("xzz->xz", counts).astype(np.float64)  # #(x, z)
    prior = np.diag(pair) / n_images  # P(z): image frequency
    with np.errstate(invalid="ignore", divide="ignore"):
        p_y_given_xz = counts / pair[:, :, None]
    p_y_given_xz = np.nan_to_num(p_y_given_xz)
    weight = prior[None, :] * (pair > 0)  # empty strata are skipped
    keep = np.ones((k, k, k))
    idx = np.arange(k)
    keep[idx, idx, :] = 0  # z = x
    keep[:, idx, idx] = 0  # z = y
    numerator = np.einsum("xz,xzy,xzy->xy", weight, p_y_given_xz, keep)
    denominator = np.einsum("xz,xzy->xy", weight, keep)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = numerator / denominator
    table[idx, idx] = np.where(np.diag(pair) > 0, 1.0, np.nan)
    return table


def interventional_matrix(labels: Any) -> np.ndarray:
    r"""VC R-CNN's object-strata estimate :math:`I_{xy} \approx P(Y=y \mid do(X=x))` for every pair at once.

    NaN where :math:`x` never occurs or no stratum enters; the diagonal is 1.

    Examples
    --------
    >>> L = [[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]]
    >>> round(float(interventional_matrix(L)[0, 1]), 3)  # only z = 2 enters: P(y | x, z) = 1/2
    0.5
    """
    matrix = as_label_matrix(labels)
    return _interventional_from_counts(three_way_counts(matrix), matrix.shape[0])


def stratum_table(labels: Any, y: Class, x: Class, names: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Each stratum :math:`z \notin \{X, Y\}` that enters the VC R-CNN estimate: the counts
    :math:`\#(X, z)` and :math:`\#(X, z, Y)`, :math:`P(z)`, :math:`P(Y \mid X, z)`, its renormalised weight and
    its contribution (contributions sum to the estimate).

    Strata with :math:`\#(X, z) = 0` are left out (see the module docstring; :func:`skipped_strata` lists them).

    Examples
    --------
    >>> t = stratum_table([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], 1, 0)
    >>> float(t["contribution"].sum()), t["#(x, z, y)"].tolist()
    (0.5, [1])
    """
    matrix, names, xi, yi, has_x = _resolve_pair(labels, y, x, names, "P(Y | do(X))")
    k = matrix.shape[1]
    rows = matrix[has_x]
    n_xz = rows.sum(0).astype(np.int64)
    n_xzy = rows[rows[:, yi] == 1].sum(0).astype(np.int64)
    prior = matrix.mean(0)
    strata = [z for z in range(k) if z not in (xi, yi) and n_xz[z] > 0]
    if not strata:
        raise ValueError(f"no stratum z other than x and y co-occurs with x ({x!r}): the estimate is undefined")
    weights = prior[strata] / prior[strata].sum()
    p_y = n_xzy[strata] / n_xz[strata]
    return pd.DataFrame({
        "z": [names[z] if names else z for z in strata],
        "#(x, z)": n_xz[strata],
        "#(x, z, y)": n_xzy[strata],
        "P(z)": prior[strata],
        "P(y | x, z)": p_y,
        "weight": weights,
        "contribution": weights * p_y,
    })


def skipped_strata(labels: Any, y: Class, x: Class, names: Sequence[str] | None = None) -> pd.DataFrame:
    r"""The strata :math:`z \notin \{X, Y\}` that VC R-CNN's estimate leaves out because :math:`X` never occurs
    with them (:math:`\#(X, z) = 0`: positivity fails), with their image frequency :math:`P(z)`.

    Their total :math:`P(z)` is the prior mass the renormalisation hands to the other strata.

    Examples
    --------
    >>> t = skipped_strata([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]], 1, 0)
    >>> t["z"].tolist(), round(float(t["P(z)"].sum()), 3)
    ([3], 0.333)
    """
    matrix, names, xi, yi, has_x = _resolve_pair(labels, y, x, names, "P(Y | do(X))")
    n_xz = matrix[has_x].sum(0, dtype=np.int64)
    prior = matrix.mean(0)
    strata = [z for z in range(matrix.shape[1]) if z not in (xi, yi) and n_xz[z] == 0]
    return pd.DataFrame({"z": [names[z] if names else z for z in strata], "P(z)": prior[strata]})


def resampled_pair(labels: Any, y: Class, x: Class,
                   names: Sequence[str] | None = None) -> Callable[[np.ndarray], tuple[float, float]]:
    r"""A fast function of resampled images for a bootstrap over images: ``stat(idx)`` returns
    :math:`(P(Y \mid X), \text{VC R-CNN's } P(Y \mid do(X)))` computed on the images ``labels[idx]``
    (``idx`` with repeats, as a bootstrap draws them).

    It equals ``(conditional(labels[idx], y, x), interventional(labels[idx], y, x))`` without building
    ``labels[idx]``: each image's multiplicity :math:`w_i` weights the counts, the prior comes from one sparse
    product :math:`L^\top w`, and only the images containing :math:`X` enter the strata counts. Values that are
    undefined on a resample (``x`` absent, no stratum) are NaN.

    Examples
    --------
    >>> L = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]])
    >>> stat = resampled_pair(L, 1, 0)
    >>> stat(np.arange(4)) == (conditional(L, 1, 0), interventional(L, 1, 0))
    True
    >>> [round(v, 3) for v in stat(np.array([0, 0, 1, 2]))]  # image 0 twice, image 3 left out
    [0.667, 0.667]
    """
    from scipy import sparse

    matrix, _, xi, yi, has_x = _resolve_pair(labels, y, x, names, "P(Y | do(X))")
    n, k = matrix.shape
    columns = sparse.csr_matrix(matrix.T.astype(np.float64))  # (K, n): L^T w in one sparse product
    rows_x = np.flatnonzero(has_x)
    with_x = matrix[rows_x].astype(np.float64)
    y_in_x = with_x[:, yi]
    others = np.ones(k, dtype=bool)
    others[[xi, yi]] = False

    def stat(idx: np.ndarray) -> tuple[float, float]:
        w = np.bincount(np.asarray(idx), minlength=n).astype(np.float64)
        w_x = w[rows_x]
        n_x = w_x.sum()
        if n_x == 0:
            return math.nan, math.nan
        n_xz = w_x @ with_x
        n_xzy = (w_x * y_in_x) @ with_x
        enter = others & (n_xz > 0)
        if not enter.any():
            return float(n_xzy[yi] / n_x), math.nan
        prior = columns @ w
        p = prior[enter]
        return float(n_xzy[yi] / n_x), float(p @ (n_xzy[enter] / n_xz[enter]) / p.sum())

    return stat


def interventional(labels: Any, y: Class, x: Class, names: Sequence[str] | None = None) -> float:
    r"""VC R-CNN's object-strata estimate of :math:`P(Y \mid do(X))` for one pair (see the module docstring).

    Examples
    --------
    >>> from causal_lessons.datasets import load_coco_labels
    >>> round(interventional(load_coco_labels("train2014"), "sink", "hair drier"), 2)
    0.4
    """
    return float(stratum_table(labels, y, x, names)["contribution"].sum())


def _as_1d(value: Any, name: str) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array, got a {type(value).__name__}")
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def _check_strata(strata: np.ndarray, name: str) -> None:
    """Strata are labels: a NaN would silently become a stratum of its own, an inf is no stratum either."""
    if strata.dtype.kind == "f" and not np.isfinite(strata).all():
        raise ValueError(f"{name} must not hold NaN or inf: every unit needs a stratum")
    if strata.dtype.kind == "O" and pd.isna(strata).any():
        raise ValueError(f"{name} must not hold NaN or None: every unit needs a stratum")
    if strata.dtype.kind == "c":
        raise TypeError(f"{name} must hold stratum labels (integers or strings), got complex numbers")


def backdoor(x: Any, y: Any, z: Any, x_value: int = 1) -> float:
    r"""Backdoor adjustment over a discrete stratum variable :math:`Z`:
    :math:`P(Y=1 \mid do(X=x)) = \sum_z P(Y=1 \mid X=x, z)\, P(z)`.

    Parameters
    ----------
    x, y
        0/1 arrays of the same length (treatment and outcome per unit).
    z
        Stratum of each unit (any hashable values, e.g. a scene id).
    x_value
        The treatment value to intervene on.

    Raises
    ------
    ValueError
        If some stratum never has ``x == x_value`` (positivity fails: the formula needs
        :math:`P(Y \mid X=x, z)` for every :math:`z` with :math:`P(z) > 0`), or if ``z`` holds NaN (it would
        otherwise become a stratum of its own).

    Examples
    --------
    >>> z = np.array([0, 0, 1, 1]); x = np.array([1, 0, 1, 0]); y = np.array([1, 0, 0, 0])
    >>> backdoor(x, y, z)
    0.5
    """
    xs, ys, zs = (_as_1d(v, name) for v, name in ((x, "x"), (y, "y"), (z, "z")))
    if xs.shape != ys.shape or xs.shape != zs.shape:
        raise ValueError(f"x, y and z must have the same length, got {len(xs)}, {len(ys)} and {len(zs)}")
    for name, arr in (("x", xs), ("y", ys)):
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1")
    _check_strata(zs, "z")
    if not isinstance(x_value, (int, np.integer)) or isinstance(x_value, bool) or x_value not in (0, 1):
        raise ValueError(f"x_value must be 0 or 1, got {x_value!r}")
    strata, inverse = np.unique(zs, return_inverse=True)
    treated = xs == x_value
    n_treated = np.bincount(inverse, weights=treated, minlength=len(strata))
    missing = strata[n_treated == 0]
    if missing.size:
        raise ValueError(f"positivity fails: x = {x_value} never occurs in strata {missing.tolist()}")
    p_y = np.bincount(inverse, weights=treated * ys, minlength=len(strata)) / n_treated
    p_z = np.bincount(inverse, minlength=len(strata)) / xs.size
    return float(p_y @ p_z)


def backdoor_matrix(labels: Any, strata: Any) -> np.ndarray:
    r"""Backdoor adjustment over a given stratum variable for every pair of classes at once:
    :math:`B_{xy} = \sum_s P(Y=y \mid X=x, s)\, P(s)`.

    Rows of classes that are absent from some stratum are NaN (positivity fails there: the formula needs
    :math:`P(Y \mid X=x, s)` for every stratum :math:`s`). The diagonal is 1.

    Examples
    --------
    >>> L = np.array([[1, 1], [1, 0], [1, 0], [0, 1]]); s = np.array([0, 0, 1, 1])
    >>> backdoor_matrix(L, s)[0, 1]  # 0.5 * 1/2 + 0.5 * 0/1
    np.float64(0.25)
    """
    matrix = as_label_matrix(labels)
    if isinstance(strata, (str, bytes)):
        raise TypeError(f"strata must be a 1-D array with one entry per image, got a {type(strata).__name__}")
    strata = np.asarray(strata)
    if strata.shape != (matrix.shape[0],):
        raise ValueError(f"strata must have one entry per image ({matrix.shape[0]}), got shape {strata.shape}")
    _check_strata(strata, "strata")
    values, inverse = np.unique(strata, return_inverse=True)
    k = matrix.shape[1]
    table = np.zeros((k, k))
    for s in range(len(values)):  # one matrix product per stratum
        rows = matrix[inverse == s].astype(np.float64)
        co = rows.T @ rows
        with np.errstate(invalid="ignore", divide="ignore"):
            table += (co / np.diag(co)[:, None]) * (len(rows) / matrix.shape[0])
    return table
