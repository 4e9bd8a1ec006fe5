r"""Equivariance with a *fitted* output representation (Lenc and Vedaldi, 2015).

:func:`~causal_lessons.equivariance.group_conv.equivariance_error` needs the output representation
:math:`\rho(g)` in advance: the identity on channels for a plain CNN, a permutation of the group axis for a
G-CNN. A trained network may be equivariant with a representation nobody wrote down -- a rotated input may give
the rotated feature map with its channels *mixed*. Lenc and Vedaldi fit that mixing from data: for a feature map
:math:`\phi(x) \in \mathbb R^{K \times H \times W}` and each group element :math:`g`, find the matrix
:math:`M_g \in \mathbb R^{K \times K}` that best predicts the features of the transformed image from the
transformed features,

.. math::
    \hat M_g = \arg\min_M \sum_{x \in \text{fit}} \sum_u
        \lVert \phi(g \cdot x)(u) - M\, [g \cdot \phi(x)](u) \rVert^2 + \lambda \lVert M \rVert^2,

(:math:`g \cdot \phi(x)` moves the pixels of every map; :math:`\lambda \ge 0` is an optional ridge), and report
the error that remains on *other* images,

.. math:: e = \max_g \frac{\lVert \phi(g \cdot x) - \hat M_g [g \cdot \phi(x)] \rVert}{\lVert \phi(x) \rVert}.

It is an upper bound on how far the features are from *linearly* equivariant (a non-linear
:math:`\rho` would be missed) and a lower bound on nothing: with more channels than a filter has degrees of
freedom, a fitted map explains much even for random filters -- compare with an untrained network.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import torch

from .group_conv import Action, check_tensor

#: Default ridge :math:`\lambda` of :func:`channel_map`: none. Least squares then takes the minimum-norm solution
#: (SVD), so channels that never fire leave the fit well defined without biasing the others.
RIDGE = 0.0
#: Singular values below this share of the largest are dropped by the least-squares fit: network features are
#: float32, so directions that small are rounding noise (kept, they would fit noise and fail on other images).
RCOND = 1e-5


def _check_action(action: object) -> Action:
    if not isinstance(action, Action):
        raise TypeError(f"action must be an Action on images (e.g. C4_ON_IMAGES), got {type(action).__name__}")
    return action


def _rows(maps: torch.Tensor) -> torch.Tensor:
    """``(N, K, H, W)`` (or ``(N, C, |G|, H, W)``, its group axis read as channels) -> ``(N * H * W, K)``."""
    flat = maps.flatten(1, -3)
    return flat.permute(0, 2, 3, 1).reshape(-1, flat.shape[1]).double().cpu()


def channel_map(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, action: Action, g: Hashable,
                ridge: float = RIDGE) -> torch.Tensor:
    r"""The least-squares channel map :math:`\hat M_g` (``(K, K)``, float64) fitted on the images ``x``:
    :math:`\phi(g \cdot x)(u) \approx \hat M_g\, [g \cdot \phi(x)](u)` at every pixel :math:`u`. ``ridge`` is
    :math:`\lambda` relative to the mean squared feature (0: plain least squares, which needs every channel to
    fire somewhere).

    Examples
    --------
    >>> from causal_lessons.equivariance.group_conv import C4_ON_IMAGES
    >>> w = torch.randn(1, 1, 3, 3)
    >>> pair = lambda t: torch.nn.functional.conv2d(t, torch.cat([w, w.rot90(2, (-2, -1))]), padding=1)
    >>> m = channel_map(pair, torch.randn(20, 1, 5, 5), C4_ON_IMAGES, 2)  # a half turn swaps the two filters
    >>> m.round(decimals=4).abs().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    x, action = check_tensor(x, "x"), _check_action(action)
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not 0 <= ridge < 1:
        raise ValueError(f"ridge must be a number in [0, 1), got {ridge!r}")
    if g not in action.group.elements:
        raise ValueError(f"g must be an element of the group {action.group.elements}, got {g!r}")
    with torch.no_grad():
        fx, fgx = f(x), f(action.act(g, x))
    return fit_map(action.group.act(g, fx), fgx, ridge)


def fit_map(source: torch.Tensor, target: torch.Tensor, ridge: float = RIDGE) -> torch.Tensor:
    r"""The least-squares :math:`M` with ``target[:, :, u] ≈ M source[:, :, u]`` over every image and pixel
    :math:`u`, from feature maps already computed (``(N, K, H, W)`` or ``(N, C, |G|, H, W)``, read as ``K``
    channels): what :func:`channel_map` solves once it has the maps.

    Examples
    --------
    >>> a = torch.randn(10, 2, 3, 3)
    >>> fit_map(a, a.flip(1)).round(decimals=6).abs().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    source, target = check_tensor(source, "source"), check_tensor(target, "target")
    if source.shape != target.shape or source.ndim < 4:
        raise ValueError(f"source and target must be feature maps of one shape (N, K, H, W), got "
                         f"{tuple(source.shape)} and {tuple(target.shape)}")
    rows, goal = _rows(source), _rows(target)
    if ridge == 0:
        return torch.linalg.lstsq(rows, goal, rcond=RCOND, driver="gelsd").solution.T
    gram = rows.T @ rows
    penalty = ridge * float(gram.diagonal().mean()) * torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram + penalty, rows.T @ goal).T


def map_error(m: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> float:
    r""":math:`\lVert \text{target} - M\, \text{source} \rVert`, summed over images, pixels and channels (the
    numerator of :math:`e`).

    Examples
    --------
    >>> a = torch.randn(4, 2, 3, 3)
    >>> map_error(torch.eye(2, dtype=torch.float64), a, a)
    0.0
    """
    source, target = check_tensor(source, "source"), check_tensor(target, "target")
    if source.shape != target.shape or source.ndim < 4:
        raise ValueError(f"source and target must be feature maps of one shape (N, K, H, W), got "
                         f"{tuple(source.shape)} and {tuple(target.shape)}")
    m = check_tensor(m, "m", 2, "(K, K)")
    if m.shape != (_rows(source).shape[1],) * 2:
        raise ValueError(f"m must be a ({_rows(source).shape[1]}, {_rows(source).shape[1]}) matrix for these maps, "
                         f"got {tuple(m.shape)}")
    return float((_rows(target) - _rows(source) @ m.double().T).norm())


def fitted_equivariance_error(f: Callable[[torch.Tensor], torch.Tensor], x_fit: torch.Tensor,
                              x_test: torch.Tensor, action: Action) -> float:
    r"""Lenc and Vedaldi's equivariance error :math:`e` (module docstring): channel maps fitted on ``x_fit``,
    the error measured on ``x_test``.

    ``f`` maps images to feature maps ``(N, K, H, W)`` or group feature maps ``(N, C, |G|, H, W)``; ``action``
    is the group acting on the images (it moves the pixels of the feature maps too).

    Examples
    --------
    >>> from causal_lessons.equivariance.group_conv import C4_ON_IMAGES, LiftingConvC4
    >>> lift = LiftingConvC4(1, 3)
    >>> x = torch.randn(40, 1, 7, 7)
    >>> fitted_equivariance_error(lift, x[:30], x[30:], C4_ON_IMAGES) < 1e-5  # it finds the permutation
    True
    >>> conv = torch.nn.Conv2d(1, 3, 3, padding=1)
    >>> fitted_equivariance_error(conv, x[:30], x[30:], C4_ON_IMAGES) > 0.1  # 3 filters cannot span 9 dims
    True
    """
    if not callable(f):
        raise TypeError(f"f must be a callable (a function or a module), got {type(f).__name__}")
    x_fit, x_test, action = check_tensor(x_fit, "x_fit"), check_tensor(x_test, "x_test"), _check_action(action)
    if x_fit.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"x_fit and x_test must hold images of one shape, got {tuple(x_fit.shape[1:])} and "
                         f"{tuple(x_test.shape[1:])}")
    with torch.no_grad():
        fx = f(x_test)
    norm = float(fx.double().norm())
    if norm == 0:
        raise ValueError("f(x_test) is zero: the relative error is undefined; use other images")
    errors = []
    for g in action.group.elements:
        m = channel_map(f, x_fit, action, g)
        with torch.no_grad():
            target = f(action.act(g, x_test))
        errors.append(map_error(m, action.group.act(g, fx), target) / norm)
    return max(errors)
