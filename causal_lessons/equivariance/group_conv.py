r"""Equivariance, and group convolutions for the rotations :math:`C_4` and the symmetries of the square
:math:`D_4` (Cohen and Welling, 2016).

A map :math:`f` is **equivariant** if :math:`f(g \cdot x) = \rho(g) f(x)` for every :math:`g`, and **invariant**
if :math:`\rho` is trivial. :func:`equivariance_error` measures the relative failure
:math:`\max_g \lVert f(g \cdot x) - \rho(g) f(x) \rVert / \lVert f(x) \rVert` for a *given* :math:`\rho`.

For a group :math:`G` acting on the square grid (:math:`C_4` or :math:`D_4`):

- :class:`LiftingConv` maps an image ``(B, C, H, W)`` to a function on :math:`G \times \mathbb Z^2`,
  ``(B, O, |G|, H, W)``: one output per transformed copy of each filter,

  .. math::
      [x \star \psi](g, u) = \sum_v x(u + v)\, (g \cdot \psi)(v);

- :class:`GroupConv` maps ``(B, C, |G|, H, W)`` to ``(B, O, |G|, H, W)``:

  .. math::
      [y \star \psi](g, u) = \sum_{h, v} y(h, u + v)\, \psi(g^{-1} h, g^{-1} v),

  i.e. the filter for output :math:`g` is the base filter transformed by :math:`g` on space *and* permuted by :math:`g` on its group axis.

Transforming the input by :math:`h` transforms every output map by :math:`h` and permutes the group axis by the
regular representation, :math:`(h \cdot y)(g, u) = y(h^{-1} g, h^{-1} u)` (:func:`regular_action`; for
:math:`C_4` the permutation is a cyclic shift). Both layers expand their base weights into ordinary filters and
make one ``conv2d`` call; they are exact up to float rounding for odd kernels and stride 1 on square inputs.
:class:`LiftingConvC4`, :class:`GroupConvC4`, :class:`C4InvariantCNN` and their :math:`D_4` twins fix the group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int
from .groups import CyclicRotations, Dihedral, Group, check_group


@dataclass(frozen=True)
class Action:
    """A group acting on tensors: ``act(g, x)``.

    Examples
    --------
    >>> C4_ON_IMAGES.act(2, torch.tensor([[1, 2], [3, 4]])).tolist()
    [[4, 3], [2, 1]]
    """

    group: Group
    act: Callable[[Hashable, torch.Tensor], torch.Tensor]
    name: str


C4 = CyclicRotations()
D4 = Dihedral()


def axis_permutations(group: Group) -> torch.Tensor:
    r"""The regular representation as index tables: row ``h`` lists, for each ``g``, the index of
    :math:`h^{-1} g`, so that ``y[..., table[h], :, :]`` is :math:`(h \cdot y)(g) = y(h^{-1} g)` on the group axis.

    Examples
    --------
    >>> axis_permutations(C4)[1].tolist()  # a quarter turn shifts the rotation axis by one
    [3, 0, 1, 2]
    """
    group = check_group(group)
    index = {g: i for i, g in enumerate(group.elements)}
    return torch.tensor([[index[group.compose(group.inverse(h), g)] for g in group.elements] for h in group.elements])


def regular_action(group: Group) -> Action:
    """``group`` acting on group feature maps ``(..., |G|, H, W)``: transform every map on space and permute
    the group axis by the regular representation (see the module docstring).

    Examples
    --------
    >>> y = torch.arange(8.0).reshape(8, 1, 1)  # one value per element of D4, on a 1x1 grid
    >>> D4_ON_LIFTED.act((0, 1), y).flatten().tolist()
    [3.0, 0.0, 1.0, 2.0, 5.0, 6.0, 7.0, 4.0]
    """
    table = axis_permutations(group)
    order = len(group.elements)
    index = {g: i for i, g in enumerate(group.elements)}

    def act(h: Hashable, y: torch.Tensor) -> torch.Tensor:
        if not isinstance(y, torch.Tensor) or y.ndim < 3 or y.shape[-3] != order:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"a {order}-element group feature map must have shape (..., {order}, H, W), "
                             f"got {shape}")
        moved = group.act(h, y)  # checks h
        return moved[..., table[index[h]].to(y.device), :, :]

    return Action(group, act, "transform the maps and permute the group axis")


def trivial_action(group: Group) -> Action:
    """``group`` acting trivially (for invariance: :math:`\\rho(g) = 1`).

    Examples
    --------
    >>> trivial_action(D4).act((1, 3), torch.ones(2)).tolist()
    [1.0, 1.0]
    """
    return Action(check_group(group), lambda g, y: y, "do nothing")


#: :math:`C_4` acting on images by rotation.
C4_ON_IMAGES = Action(C4, C4.act, "rotate the image")
#: :math:`C_4` acting on ``(..., 4, H, W)`` feature maps: rotate each map and shift the rotation axis.
C4_ON_LIFTED = regular_action(C4)
#: The trivial action of :math:`C_4` (for invariance).
TRIVIAL = trivial_action(C4)
#: :math:`D_4` acting on images by rotations and reflections.
D4_ON_IMAGES = Action(D4, D4.act, "rotate and reflect the image")
#: :math:`D_4` acting on ``(..., 8, H, W)`` feature maps: transform each map and permute the group axis.
D4_ON_LIFTED = regular_action(D4)
#: The trivial action of :math:`D_4`.
TRIVIAL_D4 = trivial_action(D4)


def check_tensor(x: object, name: str, rank: int | None = None, shape: str = "") -> torch.Tensor:
    """``x`` as a non-empty, finite floating-point tensor (of ``rank`` dimensions), or a clear error.

    Examples
    --------
    >>> check_tensor(torch.ones(2, 3), "x", 2).shape
    torch.Size([2, 3])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(x).__name__}")
    if rank is not None and x.ndim != rank:
        raise ValueError(f"{name} must have shape {shape or f'of {rank} dimensions'}, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    return x


def _check_action(action: object, name: str) -> Action:
    if not isinstance(action, Action):
        raise TypeError(f"{name} must be an Action (e.g. C4_ON_IMAGES), got {type(action).__name__}")
    return action


def equivariance_error(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, act_in: Action,
                       act_out: Action) -> float:
    r"""Relative equivariance error :math:`\max_g \lVert f(g\cdot x) - g\cdot f(x)\rVert / \lVert f(x)\rVert`,
    with :math:`g` acting on the input by ``act_in`` and on the output by ``act_out`` (a fixed :math:`\rho`; to
    fit :math:`\rho` from data instead, see :mod:`~causal_lessons.equivariance.fitted`).

    Examples
    --------
    >>> x = torch.randn(1, 1, 5, 5)
    >>> equivariance_error(lambda t: t ** 2, x, C4_ON_IMAGES, C4_ON_IMAGES)
    0.0
    >>> equivariance_error(lambda t: t.abs().sum(), x, C4_ON_IMAGES, TRIVIAL) < 1e-6
    True
    """
    if not callable(f):
        raise TypeError(f"f must be a callable (a function or a module), got {type(f).__name__}")
    x = check_tensor(x, "x")
    act_in, act_out = _check_action(act_in, "act_in"), _check_action(act_out, "act_out")
    if act_in.group.elements != act_out.group.elements:
        raise ValueError("act_in and act_out must be actions of the same group")
    with torch.no_grad():
        fx = f(x)
        if not bool(torch.isfinite(fx).all()):
            raise ValueError("f(x) is not finite: the error is undefined")
        norm = fx.norm()
        if norm == 0:
            raise ValueError("f(x) is zero: the relative error is undefined; use another x")
        errors = [(f(act_in.act(g, x)) - act_out.act(g, fx)).norm() / norm for g in act_in.group.elements]
    return float(max(errors))


def _check_kernel(kernel_size: int) -> int:
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive integer (even kernels have no centre to rotate "
                         f"about, which breaks exact equivariance), got {kernel_size!r}")
    return kernel_size


def _check_maps(x: object, channels: int, order: int | None = None) -> torch.Tensor:
    shape = f"(B, {channels}, H, W)" if order is None else f"(B, {channels}, {order}, H, W)"
    x = check_tensor(x, "x", 4 if order is None else 5, shape)
    if x.shape[1] != channels or (order is not None and x.shape[2] != order):
        raise ValueError(f"x must have shape {shape} (in_channels = {channels}), got {tuple(x.shape)}")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must be square for rotations, got H = {x.shape[-2]}, W = {x.shape[-1]}")
    return x


def pool_grid(x: torch.Tensor) -> torch.Tensor:
    """3x3 max pooling with stride 2 and padding 1 over the last two axes (any leading shape).

    Windows are centred on pixels ``0, 2, 4, ...``; on an odd grid every rotation and reflection of the square
    maps these centres onto themselves, so the pooling commutes with them exactly.

    Examples
    --------
    >>> pool_grid(torch.randn(2, 3, 4, 17, 17)).shape
    torch.Size([2, 3, 4, 9, 9])
    """
    x = check_tensor(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x must have shape (B, ..., H, W) with at least 3 dimensions, got {tuple(x.shape)}")
    return _pool(x)


def _pool(x: torch.Tensor) -> torch.Tensor:
    # Folding the leading axes into channels of one batch keeps max_pool2d's fast path for many small maps.
    out = F.max_pool2d(x.reshape(x.shape[0], -1, *x.shape[-2:]), 3, stride=2, padding=1)
    return out.reshape(*x.shape[:-2], *out.shape[-2:])


class _GroupConvolution(nn.Module):
    """What the lifting and the group convolution share: base weights expanded into ordinary filters, one
    conv2d call, a bias per output channel shared over the group axis."""

    def __init__(self, group: Group, in_channels: int, out_channels: int, kernel_size: int, bias: bool) -> None:
        super().__init__()
        self.group = group
        self.register_buffer("table", axis_permutations(group), persistent=False)
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = _check_kernel(kernel_size)
        self.order = len(group.elements)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:
            x = x.flatten(1, 2)
        out = F.conv2d(x, self.expanded_filters(), padding=self.kernel_size // 2)
        out = out.unflatten(1, (self.out_channels, self.order))
        return out if self.bias is None else out + self.bias[None, :, None, None, None]

    def expanded_filters(self) -> torch.Tensor:
        raise NotImplementedError


class LiftingConv(_GroupConvolution):
    """Lifting convolution :math:`\\mathbb Z^2 \\to G \\times \\mathbb Z^2`: ``(B, C, H, W) -> (B, O, |G|, H, W)``.

    Examples
    --------
    >>> layer = LiftingConv(D4, 3, 2, 5)
    >>> x = torch.randn(2, 3, 9, 9)
    >>> layer(x).shape
    torch.Size([2, 2, 8, 9, 9])
    >>> equivariance_error(layer, x, D4_ON_IMAGES, D4_ON_LIFTED) < 1e-5
    True
    """

    def __init__(self, group: Group, in_channels: int, out_channels: int, kernel_size: int = 3,
                 bias: bool = True) -> None:
        super().__init__(group, in_channels, out_channels, kernel_size, bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def expanded_filters(self) -> torch.Tensor:
        """``(O * |G|, C, k, k)``: each base filter transformed by every element of the group."""
        stacked = torch.stack([self.group.act(g, self.weight) for g in self.group.elements], dim=1)
        return stacked.flatten(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._convolve(_check_maps(x, self.in_channels))


class GroupConv(_GroupConvolution):
    """Group convolution on :math:`G \\times \\mathbb Z^2`: ``(B, C, |G|, H, W) -> (B, O, |G|, H, W)``.

    Examples
    --------
    >>> layer = GroupConv(D4, 2, 3, 3)
    >>> y = torch.randn(2, 2, 8, 7, 7)
    >>> layer(y).shape
    torch.Size([2, 3, 8, 7, 7])
    >>> equivariance_error(layer, y, D4_ON_LIFTED, D4_ON_LIFTED) < 1e-5
    True
    """

    def __init__(self, group: Group, in_channels: int, out_channels: int, kernel_size: int = 3,
                 bias: bool = True) -> None:
        super().__init__(group, in_channels, out_channels, kernel_size, bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, self.order, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight.flatten(1, 2), a=math.sqrt(5))

    def expanded_filters(self) -> torch.Tensor:
        """``(O * |G|, C * |G|, k, k)``: for output ``g``, the base filter transformed by ``g`` on space and
        permuted by ``g`` on its group axis."""
        moved = [self.group.act(g, self.weight)[:, :, self.table[i]] for i, g in enumerate(self.group.elements)]
        return torch.stack(moved, dim=1).flatten(0, 1).flatten(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._convolve(_check_maps(x, self.in_channels, self.order))


class LiftingConvC4(LiftingConv):
    """:class:`LiftingConv` for the rotations :math:`C_4`: ``(B, C, H, W) -> (B, O, 4, H, W)``.

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
        super().__init__(C4, in_channels, out_channels, kernel_size, bias)


class GroupConvC4(GroupConv):
    """:class:`GroupConv` for :math:`C_4`: the filter for output rotation ``r`` is the base filter rotated by
    ``r`` with its rotation axis cyclically shifted by ``r``.

    Examples
    --------
    >>> layer = GroupConvC4(4, 6, 3)
    >>> y = torch.randn(2, 4, 4, 7, 7)
    >>> equivariance_error(layer, y, C4_ON_LIFTED, C4_ON_LIFTED) < 1e-5
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(C4, in_channels, out_channels, kernel_size, bias)


class LiftingConvD4(LiftingConv):
    """:class:`LiftingConv` for :math:`D_4`: ``(B, C, H, W) -> (B, O, 8, H, W)``.

    Examples
    --------
    >>> LiftingConvD4(1, 2)(torch.randn(1, 1, 5, 5)).shape
    torch.Size([1, 2, 8, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(D4, in_channels, out_channels, kernel_size, bias)


class GroupConvD4(GroupConv):
    """:class:`GroupConv` for :math:`D_4`: ``(B, C, 8, H, W) -> (B, O, 8, H, W)``.

    Examples
    --------
    >>> GroupConvD4(2, 3)(torch.randn(1, 2, 8, 5, 5)).shape
    torch.Size([1, 3, 8, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(D4, in_channels, out_channels, kernel_size, bias)


def _layer_maps(layers: nn.ModuleList, norms: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
    """Convolution, normalisation and ReLU per layer, with 3x3 max pooling (stride 2) between layers; every map.
    The network checked its input; the layers skip their own checks."""
    maps = []
    for i, (layer, norm) in enumerate(zip(layers, norms)):
        if i:
            x = _pool(x)
        conv = layer._convolve if isinstance(layer, _GroupConvolution) else layer
        x = F.relu(norm(conv(x)))
        maps.append(x)
    return maps


class InvariantCNN(nn.Module):
    """A ``group``-invariant classifier: a lifting and ``depth - 1`` group convolutions (``channels`` maps per
    group element), each followed by batch normalisation and ReLU, 3x3 max pooling with stride 2 between
    layers, then the maximum over the group axis, the mean over space and a linear head.

    Examples
    --------
    >>> net = InvariantCNN(D4, 1, 10, channels=3).eval()
    >>> x = torch.randn(3, 1, 9, 9)
    >>> equivariance_error(net, x, D4_ON_IMAGES, TRIVIAL_D4) < 1e-5
    True
    """

    def __init__(self, group: Group, in_channels: int, n_classes: int, channels: int = 8, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__()
        check_positive_int(depth, "depth")
        self.group = group
        layers: list[nn.Module] = [LiftingConv(group, in_channels, channels, kernel_size)]
        layers += [GroupConv(group, channels, channels, kernel_size) for _ in range(depth - 1)]
        self.layers = nn.ModuleList(layers)
        # BatchNorm3d shares its statistics over the group axis and space, so it commutes with the action.
        self.norms = nn.ModuleList(nn.BatchNorm3d(channels) for _ in range(depth))
        self.head = nn.Linear(channels, check_positive_int(n_classes, "n_classes"))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map after each layer (each ``(B, channels, |G|, H', W')``), before any pooling over the
        group axis; between layers, :func:`pool_grid` (exact on odd sizes, see
        :func:`strided_equivariance_error`)."""
        return _layer_maps(self.layers, self.norms, _check_maps(x, self.layers[0].in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x)[-1].amax(dim=2).mean(dim=(-2, -1))
        return self.head(pooled)


class C4InvariantCNN(InvariantCNN):
    """:class:`InvariantCNN` for the rotations :math:`C_4`.

    Examples
    --------
    >>> net = C4InvariantCNN(1, 10, channels=4).eval()
    >>> x = torch.randn(3, 1, 17, 17)
    >>> equivariance_error(net, x, C4_ON_IMAGES, TRIVIAL) < 1e-5
    True
    """

    def __init__(self, in_channels: int, n_classes: int, channels: int = 8, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__(C4, in_channels, n_classes, channels, depth, kernel_size)


class D4InvariantCNN(InvariantCNN):
    """:class:`InvariantCNN` for the rotations and reflections :math:`D_4`.

    Examples
    --------
    >>> net = D4InvariantCNN(1, 10, channels=2).eval()
    >>> x = torch.randn(2, 1, 9, 9)
    >>> bool((net(torch.flip(x, dims=(-1,))) - net(x)).abs().max() < 1e-5)
    True
    """

    def __init__(self, in_channels: int, n_classes: int, channels: int = 8, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__(D4, in_channels, n_classes, channels, depth, kernel_size)


class PlainCNN(nn.Module):
    """The baseline: ``depth`` ordinary convolutions of ``width`` maps with the layout of :class:`InvariantCNN`
    (batch normalisation, ReLU, the same pooling), the mean over space and a linear head.

    Examples
    --------
    >>> PlainCNN(1, 10, width=16)(torch.randn(2, 1, 17, 17)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 32, depth: int = 3,
                 kernel_size: int = 3) -> None:
        super().__init__()
        _check_kernel(kernel_size)
        depth = check_positive_int(depth, "depth")
        widths = [check_positive_int(in_channels, "in_channels")] + [check_positive_int(width, "width")] * depth
        self.in_channels = in_channels
        self.layers = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size, padding=kernel_size // 2) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for w in widths[1:])
        self.head = nn.Linear(width, check_positive_int(n_classes, "n_classes"))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map after each layer (each ``(B, width, H', W')``), pooled between layers as in
        :class:`InvariantCNN`."""
        return _layer_maps(self.layers, self.norms, _check_maps(x, self.in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1].mean(dim=(-2, -1)))


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (what "matched parameter counts" compares).

    Examples
    --------
    >>> parameter_count(torch.nn.Linear(3, 2))
    8
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


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
    size, stride = check_positive_int(size, "size"), check_positive_int(stride, "stride")
    if size < 3:
        raise ValueError(f"size must be at least 3, got {size}")
    gen = torch.Generator().manual_seed(check_positive_int(seed, "seed", minimum=0))
    layer = LiftingConvC4(1, 4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen))
    x = torch.randn(1, 1, size, size, generator=gen)
    return equivariance_error(lambda t: layer(t)[..., ::stride, ::stride], x, C4_ON_IMAGES, C4_ON_LIFTED)
