r"""Equivariance, and group convolutions for the rotation group :math:`C_4` (Cohen and Welling, 2016).

A map :math:`f` is **equivariant** if :math:`f(g \cdot x) = \rho(g) f(x)` for every :math:`g`, and **invariant**
if :math:`\rho` is trivial. :func:`equivariance_error` measures the relative failure
:math:`\max_g \lVert f(g \cdot x) - g \cdot f(x) \rVert / \lVert f(x) \rVert`.

- :class:`LiftingConvC4` maps an image ``(B, C, H, W)`` to a function on :math:`C_4 \times \mathbb Z^2`,
  ``(B, O, 4, H, W)``: one output per rotated copy of each filter, :math:`[f \star \psi](r, u) = \langle f,
  L_{r,u}\psi\rangle`.
- :class:`GroupConvC4` maps ``(B, C, 4, H, W)`` to ``(B, O, 4, H, W)``: the filter for output rotation :math:`r`
  is the base filter rotated by :math:`r` with its rotation axis cyclically shifted by :math:`r`.

Rotating the input by :math:`r` rotates every output map by :math:`r` *and* shifts the rotation axis by
:math:`r` (:data:`C4_ON_LIFTED`). Both layers are one ``conv2d`` call on filters expanded from the base weights,
exact up to float rounding for odd kernels and stride 1 on square inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .groups import CyclicRotations, Group


@dataclass(frozen=True)
class Action:
    """A group acting on tensors: ``act(g, x)``."""

    group: Group
    act: Callable[[Hashable, torch.Tensor], torch.Tensor]
    name: str


C4 = CyclicRotations()


def _rotate_lifted(r: int, y: torch.Tensor) -> torch.Tensor:
    if y.ndim < 3 or y.shape[-3] != 4:
        raise ValueError(f"a C4 feature map must have shape (..., 4, H, W), got {tuple(y.shape)}")
    return torch.roll(C4.act(r, y), shifts=int(r), dims=-3)


#: :math:`C_4` acting on images by rotation.
C4_ON_IMAGES = Action(C4, C4.act, "rotate the image")
#: :math:`C_4` acting on ``(..., 4, H, W)`` feature maps: rotate each map and shift the rotation axis.
C4_ON_LIFTED = Action(C4, _rotate_lifted, "rotate the maps and shift the rotation axis")
#: The trivial action (for invariance).
TRIVIAL = Action(C4, lambda g, y: y, "do nothing")


def equivariance_error(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, act_in: Action,
                       act_out: Action) -> float:
    r"""Relative equivariance error :math:`\max_g \lVert f(g\cdot x) - g\cdot f(x)\rVert / \lVert f(x)\rVert`.

    Examples
    --------
    >>> x = torch.randn(1, 1, 5, 5)
    >>> equivariance_error(lambda t: t ** 2, x, C4_ON_IMAGES, C4_ON_IMAGES)
    0.0
    >>> equivariance_error(lambda t: t.abs().sum(), x, C4_ON_IMAGES, TRIVIAL) < 1e-6
    True
    """
    if act_in.group.elements != act_out.group.elements:
        raise ValueError("act_in and act_out must be actions of the same group")
    with torch.no_grad():
        fx = f(x)
        norm = fx.norm()
        if norm == 0:
            raise ValueError("f(x) is zero: the relative error is undefined; use another x")
        errors = [(f(act_in.act(g, x)) - act_out.act(g, fx)).norm() / norm for g in act_in.group.elements]
    return float(max(errors))


def _check_kernel(kernel_size: int) -> int:
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive integer (even kernels have no centre to rotate "
                         f"about, which breaks exact equivariance), got {kernel_size}")
    return kernel_size


def _check_square(x: torch.Tensor, rank: int, shape: str) -> None:
    if x.ndim != rank:
        raise ValueError(f"x must have shape {shape}, got {tuple(x.shape)}")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must be square for rotations, got H = {x.shape[-2]}, W = {x.shape[-1]}")


def pool_grid(x: torch.Tensor) -> torch.Tensor:
    """3x3 max pooling with stride 2 and padding 1 over the last two axes (any leading shape).

    Windows are centred on pixels ``0, 2, 4, ...``; on an odd grid a rotation maps these centres onto themselves,
    so the pooling commutes with rotations exactly.

    Examples
    --------
    >>> pool_grid(torch.randn(2, 3, 4, 17, 17)).shape
    torch.Size([2, 3, 4, 9, 9])
    """
    lead = x.shape[:-2]
    out = F.max_pool2d(x.reshape(-1, 1, *x.shape[-2:]), 3, stride=2, padding=1)
    return out.reshape(*lead, *out.shape[-2:])


class _C4Convolution(nn.Module):
    """What both C4 layers share: base weights expanded into ordinary filters, one conv2d call, a bias per
    output channel shared over the rotation axis."""

    def __init__(self, out_channels: int, kernel_size: int, bias: bool) -> None:
        super().__init__()
        self.kernel_size = _check_kernel(kernel_size)
        self.out_channels = out_channels
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def expanded_filters(self) -> torch.Tensor:
        raise NotImplementedError

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.expanded_filters(), padding=self.kernel_size // 2)
        out = out.unflatten(1, (self.out_channels, 4))
        return out if self.bias is None else out + self.bias[None, :, None, None, None]


class LiftingConvC4(_C4Convolution):
    """Lifting convolution :math:`\\mathbb Z^2 \\to C_4 \\times \\mathbb Z^2`: ``(B, C, H, W) -> (B, O, 4, H, W)``.

    Examples
    --------
    >>> layer = LiftingConvC4(3, 8, 5)
    >>> x = torch.randn(2, 3, 9, 9)
    >>> layer(x).shape
    torch.Size([2, 8, 4, 9, 9])
    >>> equivariance_error(layer, x, C4_ON_IMAGES, C4_ON_LIFTED) < 1e-5
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(out_channels, kernel_size, bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def expanded_filters(self) -> torch.Tensor:
        """``(O * 4, C, k, k)``: each base filter rotated by 0, 1, 2, 3 quarter turns."""
        stacked = torch.stack([torch.rot90(self.weight, r, dims=(-2, -1)) for r in range(4)], dim=1)
        return stacked.flatten(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_square(x, 4, "(B, C, H, W)")
        return self._convolve(x)


class GroupConvC4(_C4Convolution):
    """Group convolution on :math:`C_4 \\times \\mathbb Z^2`: ``(B, C, 4, H, W) -> (B, O, 4, H, W)``.

    Examples
    --------
    >>> layer = GroupConvC4(4, 6, 3)
    >>> y = torch.randn(2, 4, 4, 7, 7)
    >>> layer(y).shape
    torch.Size([2, 6, 4, 7, 7])
    >>> equivariance_error(layer, y, C4_ON_LIFTED, C4_ON_LIFTED) < 1e-5
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(out_channels, kernel_size, bias)
        self.in_channels = in_channels
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 4, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight.flatten(1, 2), a=math.sqrt(5))

    def expanded_filters(self) -> torch.Tensor:
        """``(O * 4, C * 4, k, k)``: for output rotation ``r``, rotate by ``r`` and roll the group axis by ``r``."""
        rotated = [torch.roll(torch.rot90(self.weight, r, dims=(-2, -1)), shifts=r, dims=2) for r in range(4)]
        return torch.stack(rotated, dim=1).flatten(0, 1).flatten(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_square(x, 5, "(B, C, 4, H, W)")
        if x.shape[1:3] != (self.in_channels, 4):
            raise ValueError(f"x must have shape (B, {self.in_channels}, 4, H, W), got {tuple(x.shape)}")
        return self._convolve(x.flatten(1, 2))


def _layer_maps(layers: nn.ModuleList, norms: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
    """Convolution, normalisation and ReLU per layer, with :func:`pool_grid` between layers; every map."""
    maps = []
    for i, (layer, norm) in enumerate(zip(layers, norms)):
        if i:
            x = pool_grid(x)
        x = F.relu(norm(layer(x)))
        maps.append(x)
    return maps


class C4InvariantCNN(nn.Module):
    """A rotation-invariant classifier: lifting and group convolutions, then pooling over the rotation axis and
    over space, then a linear head.

    Examples
    --------
    >>> net = C4InvariantCNN(1, 10, channels=4).eval()
    >>> x = torch.randn(3, 1, 17, 17)
    >>> equivariance_error(net, x, C4_ON_IMAGES, TRIVIAL) < 1e-5
    True
    """

    def __init__(self, in_channels: int, n_classes: int, channels: int = 8, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        layers: list[nn.Module] = [LiftingConvC4(in_channels, channels, kernel_size)]
        layers += [GroupConvC4(channels, channels, kernel_size) for _ in range(depth - 1)]
        self.layers = nn.ModuleList(layers)
        # BatchNorm3d shares its statistics over the rotation axis and space, so it commutes with the action.
        self.norms = nn.ModuleList(nn.BatchNorm3d(channels) for _ in range(depth))
        self.head = nn.Linear(channels, n_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map after each layer (each ``(B, channels, 4, H', W')``); between layers, 3x3 max pooling
        with stride 2 halves the grid (exact on odd sizes, see :func:`strided_equivariance_error`)."""
        return _layer_maps(self.layers, self.norms, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x)[-1].amax(dim=2).mean(dim=(-2, -1))
        return self.head(pooled)


class PlainCNN(nn.Module):
    """The baseline: ordinary convolutions with the same layout as :class:`C4InvariantCNN` (``4 * channels``
    maps per layer, the size of a group feature map), global pooling and a linear head.

    Examples
    --------
    >>> PlainCNN(1, 10, channels=4)(torch.randn(2, 1, 17, 17)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, n_classes: int, channels: int = 8, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__()
        _check_kernel(kernel_size)
        widths = [in_channels] + [4 * channels] * depth
        self.layers = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size, padding=kernel_size // 2) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for w in widths[1:])
        self.head = nn.Linear(4 * channels, n_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map after each layer (each ``(B, 4 * channels, H', W')``), pooled between layers as in
        :class:`C4InvariantCNN`."""
        return _layer_maps(self.layers, self.norms, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1].mean(dim=(-2, -1)))


def strided_equivariance_error(size: int, stride: int = 2, seed: int = 0) -> float:
    """Equivariance error of a lifting convolution followed by subsampling with ``stride``.

    Subsampling keeps rows and columns ``0, s, 2s, ...``; a rotation maps that grid onto itself only when
    ``(size - 1)`` is a multiple of ``stride``. On an even grid with stride 2 the kept pixels of the rotated image
    are not the rotated kept pixels, and exactness is lost.

    Examples
    --------
    >>> strided_equivariance_error(9) < 1e-5, strided_equivariance_error(8) > 0.1
    (True, True)
    """
    torch.manual_seed(seed)
    layer = LiftingConvC4(1, 4, 3)
    x = torch.randn(1, 1, size, size)
    return equivariance_error(lambda t: layer(t)[..., ::stride, ::stride], x, C4_ON_IMAGES, C4_ON_LIFTED)
