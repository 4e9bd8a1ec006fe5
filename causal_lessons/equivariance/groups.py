r"""Groups and their actions on images.

A group :math:`G` acts on a set :math:`X` by :math:`g \cdot x` with :math:`e \cdot x = x` and
:math:`g \cdot (h \cdot x) = (gh) \cdot x`. Here the sets are image tensors ``(..., H, W)``:

- :class:`CyclicRotations` -- :math:`C_4`, rotations by multiples of 90 degrees (square images);
- :class:`Dihedral` -- :math:`D_4`, the rotations and the reflections of the square;
- :class:`CyclicTranslations` -- :math:`\mathbb Z_H \times \mathbb Z_W`, translations with wrap-around.

Elements are plain hashable values (an int, or a tuple), so a group is a small table: ``elements``,
``compose(a, b)`` (:math:`ab`, apply :math:`b` first), ``inverse`` and ``identity``. The regular
representation :math:`\rho(g) e_h = e_{gh}` turns each element into a permutation matrix.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

import torch

from .._checks import check_positive_int


class Group(Protocol):
    """What every group here provides."""

    elements: tuple[Hashable, ...]
    identity: Hashable

    def compose(self, a: Hashable, b: Hashable) -> Hashable: ...

    def inverse(self, a: Hashable) -> Hashable: ...

    def act(self, g: Hashable, x: torch.Tensor) -> torch.Tensor: ...


def _check_element(group: "Group", g: Hashable) -> Hashable:
    try:
        known = g in group.elements
    except (TypeError, ValueError):
        known = False
    if not known:
        raise ValueError(f"g must be an element of the group, one of {group.elements}, got {g!r}")
    return g


def check_group(group: object) -> "Group":
    """``group`` if it is a group of this module (it has ``elements``, ``compose``, ``inverse``, ``act``), or a
    ``TypeError``.

    Examples
    --------
    >>> len(check_group(Dihedral()).elements)
    8
    """
    elements = getattr(group, "elements", None)
    if not isinstance(elements, tuple) or not elements or not all(
            callable(getattr(group, m, None)) for m in ("compose", "inverse", "act")):
        raise TypeError(f"group must be a group such as CyclicRotations() or Dihedral(), got {type(group).__name__}")
    return group  # type: ignore[return-value]


def _check_image(x: torch.Tensor, square: bool) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotations need square images: x has H = {x.shape[-2]} and W = {x.shape[-1]}")


class CyclicRotations:
    """:math:`C_4`: element ``r`` rotates by ``r * 90`` degrees counter-clockwise.

    Examples
    --------
    >>> c4 = CyclicRotations()
    >>> c4.compose(3, 2), c4.inverse(1)
    (1, 3)
    >>> c4.act(1, torch.tensor([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """

    elements = (0, 1, 2, 3)
    identity = 0

    def compose(self, a: int, b: int) -> int:
        return (a + b) % 4

    def inverse(self, a: int) -> int:
        return (-a) % 4

    def act(self, g: int, x: torch.Tensor) -> torch.Tensor:
        _check_image(x, square=True)
        return torch.rot90(x, int(_check_element(self, g)), dims=(-2, -1))


class Dihedral:
    """:math:`D_4`: element ``(f, r)`` rotates by ``r * 90`` degrees and then, if ``f == 1``, flips left-right.

    Composition follows from :math:`F R = R^{-1} F`: :math:`(f_1, r_1)(f_2, r_2) = (f_1 + f_2,\\;
    (-1)^{f_2} r_1 + r_2)`.

    Examples
    --------
    >>> d4 = Dihedral()
    >>> len(d4.elements), d4.compose((1, 1), (1, 0)), d4.inverse((0, 1))
    (8, (0, 3), (0, 3))
    """

    elements = tuple((f, r) for f in (0, 1) for r in range(4))
    identity = (0, 0)

    def compose(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        (f1, r1), (f2, r2) = a, b
        return ((f1 + f2) % 2, ((-r1 if f2 else r1) + r2) % 4)

    def inverse(self, a: tuple[int, int]) -> tuple[int, int]:
        f, r = a
        return (f, r % 4) if f else (0, (-r) % 4)

    def act(self, g: tuple[int, int], x: torch.Tensor) -> torch.Tensor:
        _check_image(x, square=True)
        f, r = _check_element(self, g)
        y = torch.rot90(x, int(r), dims=(-2, -1))
        return torch.flip(y, dims=(-1,)) if f else y


class CyclicTranslations:
    """:math:`\\mathbb Z_H \\times \\mathbb Z_W`: element ``(dy, dx)`` shifts with wrap-around.

    Examples
    --------
    >>> t = CyclicTranslations(2, 3)
    >>> len(t.elements), t.compose((1, 2), (1, 2))
    (6, (0, 1))
    >>> t.act((0, 1), torch.tensor([[1, 2, 3], [4, 5, 6]])).tolist()
    [[3, 1, 2], [6, 4, 5]]
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = check_positive_int(height, "height"), check_positive_int(width, "width")
        self.elements = tuple((dy, dx) for dy in range(self.height) for dx in range(self.width))
        self.identity = (0, 0)

    def compose(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return ((a[0] + b[0]) % self.height, (a[1] + b[1]) % self.width)

    def inverse(self, a: tuple[int, int]) -> tuple[int, int]:
        return ((-a[0]) % self.height, (-a[1]) % self.width)

    def act(self, g: tuple[int, int], x: torch.Tensor) -> torch.Tensor:
        _check_image(x, square=False)
        if x.shape[-2:] != (self.height, self.width):
            raise ValueError(f"x must end in ({self.height}, {self.width}), got shape {tuple(x.shape)}")
        _check_element(self, g)
        return torch.roll(x, shifts=(int(g[0]), int(g[1])), dims=(-2, -1))


def cayley_table(group: Group) -> list[list[int]]:
    """Indices of :math:`ab` for every pair of elements (rows ``a``, columns ``b``).

    Examples
    --------
    >>> cayley_table(CyclicRotations())[1]
    [1, 2, 3, 0]
    """
    group = check_group(group)
    index = {g: i for i, g in enumerate(group.elements)}
    return [[index[group.compose(a, b)] for b in group.elements] for a in group.elements]


def regular_representation(group: Group) -> dict[Hashable, torch.Tensor]:
    r"""The regular representation: :math:`\rho(g)` permutes the basis, :math:`\rho(g) e_h = e_{gh}`.

    Examples
    --------
    >>> rho = regular_representation(CyclicRotations())
    >>> bool(torch.equal(rho[1] @ rho[3], rho[0])), rho[1][:, 0].tolist()
    (True, [0.0, 1.0, 0.0, 0.0])
    """
    group = check_group(group)
    index = {g: i for i, g in enumerate(group.elements)}
    n = len(group.elements)
    rho = {}
    for g in group.elements:
        m = torch.zeros(n, n)
        for h in group.elements:
            m[index[group.compose(g, h)], index[h]] = 1.0
        rho[g] = m
    return rho
