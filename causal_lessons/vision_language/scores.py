r"""Scores and losses on the four similarities of a swap pair (Winoground, EqBen).

A swap pair holds two captions :math:`c_0, c_1` and two images :math:`i_0, i_1`, caption :math:`c` matching image
:math:`c`. Its similarities form a :math:`2 \times 2` table; :math:`N` pairs form a tensor ``s`` of shape
``(N, 2, 2)`` with ``s[n, c, i]`` = similarity(caption c, image i) of pair n.

Winoground's scores (Thrush et al. 2022), with strict inequalities, so a tie is wrong:

- **text** correct: each image prefers its own caption, :math:`s_{00} > s_{10}` and :math:`s_{11} > s_{01}`;
- **image** correct: each caption prefers its own image, :math:`s_{00} > s_{01}` and :math:`s_{11} > s_{10}`;
- **group** correct: both.

Guessing at random (four independent scores in random order) gives 1/4, 1/4 and 1/6.

EqSim (Wang et al., ICCV 2023) asks the similarity to change by the same amount on both sides of the swap. Per
pair, the text side :math:`\big((s_{00} - s_{10}) - (s_{11} - s_{01})\big)^2` and the image side
:math:`\big((s_{00} - s_{01}) - (s_{11} - s_{10})\big)^2`, each minus a margin :math:`m` and clamped at 0:

.. math::

    \mathrm{EqSim}(s) = \frac1N \sum_{n=1}^{N} \Big[ \max\big(0, (\Delta^{\text{text}}_n)^2 - m\big)
    + \max\big(0, (\Delta^{\text{image}}_n)^2 - m\big) \Big].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch


def _real_array(value: Any, name: str, what: str) -> np.ndarray:
    """``value`` as a float array, refusing complex numbers: similarities and accuracies are real (a complex number
    has no order), and casting one to float would silently drop its imaginary part."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from exc
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must hold real numbers, got complex ones")
    try:
        return raw.astype(float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from exc


def _align_labels(first: pd.Series | pd.DataFrame, second: Any, first_name: str,
                   second_name: str) -> pd.Series | pd.DataFrame:
    """``second`` reordered to ``first``'s labels (rows, and columns of a data frame); both are pandas objects of
    one kind with unique labels, the same set of them. Pairing them by position would silently pair the wrong
    rows when one is sorted differently."""
    if isinstance(first, pd.DataFrame) != isinstance(second, pd.DataFrame):
        raise TypeError(f"{first_name} and {second_name} must both be Series or both be DataFrames, got "
                        f"{type(first).__name__} and {type(second).__name__}")
    axes = [("row", first.index, second.index)]
    if isinstance(first, pd.DataFrame):
        axes.append(("column", first.columns, second.columns))
    for what, mine, theirs in axes:
        if not mine.is_unique or not theirs.is_unique:
            raise ValueError(f"{first_name} and {second_name} must have unique {what} labels to be paired by label")
        if set(mine) != set(theirs):
            raise ValueError(f"{second_name} must have the same {what} labels as {first_name} (in any order): "
                             f"only in {first_name}: {sorted(map(str, set(mine) - set(theirs)))}, only in "
                             f"{second_name}: {sorted(map(str, set(theirs) - set(mine)))}")
    if isinstance(first, pd.DataFrame):
        return second.reindex(index=first.index, columns=first.columns)
    return second.reindex(first.index)


def _as_pairs(s: Any) -> torch.Tensor:
    """``s`` as a float tensor of shape (N, 2, 2), keeping a torch tensor's graph."""
    if isinstance(s, torch.Tensor):
        if s.is_complex():
            raise TypeError("s must hold real numbers, got complex ones")
        t = s if s.is_floating_point() else s.double()
    else:
        if isinstance(s, (str, bytes)):
            raise TypeError("s must be an array of similarities of shape (N, 2, 2), got a string")
        t = torch.as_tensor(_real_array(s, "s", "an array of similarities of shape (N, 2, 2)"))
    if t.ndim != 3 or t.shape[1:] != (2, 2):
        raise ValueError(f"s must have shape (N, 2, 2) (pair, caption, image), got {tuple(t.shape)}")
    if not t.shape[0]:
        raise ValueError("s must hold at least one pair")
    if not torch.isfinite(t).all():
        raise ValueError("s must hold only finite similarities (no NaN or inf)")
    return t


def winoground_scores(s: Any) -> dict[str, float]:
    """Text, image and group scores: the fractions of pairs correct in each sense (strict inequalities).

    Parameters
    ----------
    s
        Similarities of shape ``(N, 2, 2)``, ``s[n, c, i]`` = similarity(caption c, image i); a numpy array,
        a tensor or nested lists.

    Returns
    -------
    dict
        ``{"text": ..., "image": ..., "group": ...}``, each a float in [0, 1].

    Examples
    --------
    The EqBen paper's FIBER similarities for one pair, and with EqSim:

    >>> winoground_scores([[[3.79, 2.35], [3.83, 4.16]]])
    {'text': 0.0, 'image': 1.0, 'group': 0.0}
    >>> winoground_scores([[[2.51, 2.28], [2.29, 2.45]]])
    {'text': 1.0, 'image': 1.0, 'group': 1.0}
    >>> winoground_scores([[[1.0, 0.0], [1.0, 2.0]]])  # a tie is wrong
    {'text': 0.0, 'image': 1.0, 'group': 0.0}
    """
    t = _as_pairs(s).detach()
    text = (t[:, 0, 0] > t[:, 1, 0]) & (t[:, 1, 1] > t[:, 0, 1])
    image = (t[:, 0, 0] > t[:, 0, 1]) & (t[:, 1, 1] > t[:, 1, 0])
    return {"text": float(text.double().mean()), "image": float(image.double().mean()),
            "group": float((text & image).double().mean())}


def _check_margin(margin: float) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating)) or \
            not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    return float(margin)


def eqsim_terms(s: Any, margin: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""EqSim's text and image sides per pair, each :math:`\max(0, \Delta^2 - m)`, two tensors of shape ``(N,)``.

    Examples
    --------
    >>> text, image = eqsim_terms([[[3.79, 2.35], [3.83, 4.16]]])
    >>> round(float(text[0]), 4), round(float(image[0]), 4)  # (-0.04 - 1.81)^2 and (1.44 - 0.33)^2
    (3.4225, 1.2321)
    """
    t = _as_pairs(s)
    margin = _check_margin(margin)
    text = ((t[:, 0, 0] - t[:, 1, 0]) - (t[:, 1, 1] - t[:, 0, 1])) ** 2
    image = ((t[:, 0, 0] - t[:, 0, 1]) - (t[:, 1, 1] - t[:, 1, 0])) ** 2
    return (text - margin).clamp(min=0), (image - margin).clamp(min=0)


def eqsim_loss(s: Any, margin: float = 0.0) -> torch.Tensor:
    """EqSim: the text and image sides summed per pair, averaged over pairs; differentiable in ``s``.

    Examples
    --------
    >>> s = torch.tensor([[[3.79, 2.35], [3.83, 4.16]], [[2.51, 2.28], [2.29, 2.45]]], requires_grad=True)
    >>> loss = eqsim_loss(s)
    >>> round(float(loss.detach()), 4)
    2.331
    >>> loss.backward(); s.grad.shape
    torch.Size([2, 2, 2])
    """
    text, image = eqsim_terms(s, margin)
    return (text + image).mean()


def chance_scores() -> dict[str, float]:
    """The scores of random similarities: 1/4, 1/4 and 1/6.

    With four i.i.d. continuous similarities, each of the two orderings the text score needs holds with
    probability 1/2 independently, so 1/4; the same for the image score. The group score needs
    :math:`s_{00}` and :math:`s_{11}` to exceed both others: 2! 2! orderings of 4! = 24, so 4/24 = 1/6.

    Examples
    --------
    >>> chance_scores()["group"] == 1 / 6
    True
    """
    return {"text": 0.25, "image": 0.25, "group": 1 / 6}

