r"""Disentanglement in the sense of Higgins et al. (2018), measured on a synthetic world.

The world's states are :math:`w = (g, c, r)`: a glyph :math:`g \in \mathbb Z_4`, a colour :math:`c \in \mathbb Z_3`
and a rotation :math:`r \in C_4`. The group :math:`G = \mathbb Z_4 \times \mathbb Z_3 \times C_4` acts
componentwise, each subgroup changing one factor. A representation :math:`f(w) \in \mathbb R^d` split into blocks
:math:`(B_{\text{glyph}}, B_{\text{colour}}, B_{\text{rotation}})` is **disentangled** if it is equivariant and
each subgroup acts on its own block only.

:func:`leakage` measures the failure: for each subgroup :math:`k` with generator :math:`h_k`,

.. math:: \ell_k = \frac{\sum_w \lVert \Delta_w^{\neg k} \rVert^2}{\sum_w \lVert \Delta_w \rVert^2},
          \qquad \Delta_w = f(h_k \cdot w) - f(w),

the share of the change that lands in the *other* blocks. It is tied to given coordinate blocks: it measures
alignment with those axes, not Higgins et al.'s definition, which asks for *subspaces* and does not depend on the
basis (a disentangled code turned by a rotation of :math:`\mathbb R^d` is still disentangled).

:func:`subspace_leakage` finds each factor's block from the group action instead of taking coordinates: factor
:math:`k`'s block is the top-:math:`d_k` principal subspace :math:`U_k` of its own changes :math:`\Delta^k`, and

.. math:: \ell_k = \frac{\lVert P_{\neg k} \Delta^k \rVert^2}{\lVert \Delta^k \rVert^2},

with :math:`P_{\neg k}` the orthogonal projection onto the span of the other factors' blocks. It is invariant to
orthogonal changes of basis (rotations, permutations) only, and zero only when the blocks are mutually
orthogonal: Higgins et al. ask for a direct sum, not an orthogonal one, and a disentangled code multiplied by an
invertible, non-orthogonal matrix (a shear) scores above zero.

:func:`oblique_leakage` follows the definition: it writes each change :math:`\Delta^k_w` in the basis
:math:`[U_{\text{glyph}}\; U_{\text{colour}}\; U_{\text{rotation}}]` (least squares) and takes the share of the
squared coefficients that falls outside factor :math:`k`'s own block. It is zero whenever each factor's changes
lie in their own subspace of exactly the block's dimension :math:`d_k` (2 by default) and these subspaces are
independent (a direct sum), so it is zero for such a code under *any* invertible linear change of basis; a
factor that moves more dimensions than :math:`d_k` leaks the rest. Its value for a code that is not
disentangled is invariant to orthogonal changes of basis only where every block is uniquely defined (a gap
after the :math:`d_k`-th singular value of the factor's changes) and the blocks together have full rank;
otherwise the least-squares split is arbitrary and so is the value.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import numpy as np
import torch

FACTORS = ("glyph", "colour", "rotation")
SIZES = {"glyph": 4, "colour": 3, "rotation": 4}
PALETTE = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.2, 0.4, 0.9]])
# Four 7x7 glyphs without rotational symmetry (F, L, P and a hook), so the rotation is visible.
_GLYPH_ROWS = (
    ("1111100", "1000000", "1111000", "1000000", "1000000", "1000000", "0000000"),
    ("1000000", "1000000", "1000000", "1000000", "1000000", "1111100", "0000000"),
    ("1111000", "1000100", "1111000", "1000000", "1000000", "1000000", "0000000"),
    ("0011100", "0000100", "0000100", "0000100", "1000100", "0111000", "0000000"),
)
GLYPHS = torch.tensor([[[int(ch) for ch in row] for row in g] for g in _GLYPH_ROWS], dtype=torch.float32)

State = tuple[int, int, int]


def _check_state(state: object, name: str = "state") -> State:
    if isinstance(state, (str, bytes)) or not hasattr(state, "__len__") or len(state) != 3:
        raise TypeError(f"{name} must be a (glyph, colour, rotation) triple of integers, got {state!r}")
    out = []
    for value, factor in zip(state, FACTORS):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must hold integers, got {value!r} for the {factor}")
        if not 0 <= value < SIZES[factor]:
            raise ValueError(f"{name} {tuple(state)} is outside the world (glyph < 4, colour < 3, rotation < 4)")
        out.append(int(value))
    return tuple(out)  # type: ignore[return-value]


def all_states() -> list[State]:
    """Every world state ``(glyph, colour, rotation)``: 48 of them.

    Examples
    --------
    >>> len(all_states()), all_states()[5]
    (48, (0, 1, 1))
    """
    return list(itertools.product(range(4), range(3), range(4)))


def act(factor: str, state: State, steps: int = 1) -> State:
    """The subgroup of ``factor`` acting on a state: its generator applied ``steps`` times.

    Examples
    --------
    >>> act("colour", (1, 2, 3)), act("rotation", (1, 2, 3))
    ((1, 0, 3), (1, 2, 0))
    """
    if factor not in FACTORS:
        raise ValueError(f"factor must be one of {FACTORS}, got {factor!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {type(steps).__name__}")
    i = FACTORS.index(factor)
    out = list(_check_state(state))
    out[i] = (out[i] + int(steps)) % SIZES[factor]
    return tuple(out)  # type: ignore[return-value]


def render(states: list[State]) -> torch.Tensor:
    """Images ``(n, 3, 9, 9)``: the glyph, rotated by ``r`` quarter turns, in colour ``c`` on black.

    Examples
    --------
    >>> render([(0, 0, 0), (1, 2, 3)]).shape
    torch.Size([2, 3, 9, 9])
    """
    if isinstance(states, (str, bytes)) or not isinstance(states, (list, tuple)):
        raise TypeError(f"states must be a list of (glyph, colour, rotation) triples, got {type(states).__name__}")
    if not states:
        raise ValueError("states must not be empty")
    index = [g * 12 + c * 4 + r for g, c, r in (_check_state(state, "states") for state in states)]
    return _every_image()[index]


@functools.lru_cache(maxsize=1)
def _every_image() -> torch.Tensor:
    """The 48 states' images, in the order of :func:`all_states` (rendered once)."""
    images = torch.zeros(48, 3, 9, 9)
    for i, (g, c, r) in enumerate(all_states()):
        images[i, :, 1:8, 1:8] = torch.rot90(GLYPHS[g], r)[None] * PALETTE[c][:, None, None]
    return images


def _circle(k: torch.Tensor, n: int) -> torch.Tensor:
    angle = 2 * np.pi * k.float() / n
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


#: Blocks of the reference encoders: two dimensions per factor.
BLOCKS = {"glyph": [0, 1], "colour": [2, 3], "rotation": [4, 5]}


def disentangled_encoder(images: torch.Tensor) -> torch.Tensor:
    """Hand-built reference: recover ``(g, c, r)`` from the pixels (template matching and mean colour) and place
    each factor on a circle in its own 2-D block, so each subgroup rotates its block only.

    Examples
    --------
    >>> z = disentangled_encoder(render([(0, 0, 0), (0, 1, 0)]))
    >>> bool(torch.allclose(z[0, :2], z[1, :2])), bool(torch.allclose(z[0, 2:4], z[1, 2:4]))
    (True, False)
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch tensor of shape (n, 3, 9, 9), got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1:] != (3, 9, 9) or len(images) == 0:
        raise ValueError(f"images must have shape (n, 3, 9, 9) with n >= 1, got {tuple(images.shape)}")
    if not images.is_floating_point() or not bool(torch.isfinite(images).all()):
        raise ValueError("images must hold finite floating-point pixel values (no NaN or inf)")
    masks = (images.amax(1) > 0).float()[:, 1:8, 1:8]
    templates = torch.stack([torch.rot90(GLYPHS[g], r) for g in range(4) for r in range(4)])
    scores = (masks[:, None] == templates[None]).float().mean(dim=(-2, -1))
    best = scores.argmax(1)
    glyph, rotation = best // 4, best % 4
    mean_colour = (images * (images.amax(1, keepdim=True) > 0)).sum(dim=(-2, -1)) / masks.sum(dim=(-2, -1))[:, None]
    colour = torch.cdist(mean_colour, PALETTE).argmin(1)
    return torch.cat([_circle(glyph, 4), _circle(colour, 3), _circle(rotation, 4)], dim=1)


def entangled_encoder(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The reference code mixed by a fixed random rotation of :math:`\\mathbb R^6`: still equivariant and
    invertible, but every subgroup now moves every block.

    Examples
    --------
    >>> entangled_encoder(render([(0, 0, 0)])).shape
    torch.Size([1, 6])
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    gen = torch.Generator().manual_seed(int(seed))
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen))
    return disentangled_encoder(images) @ q.T


def leakage(encoder: Callable[[torch.Tensor], torch.Tensor], blocks: dict[str, list[int]] = BLOCKS,
            states: list[State] | None = None) -> dict[str, float]:
    r"""Leakage :math:`\ell_k` of each subgroup (see the module docstring) and their mean under ``"mean"``.

    ``blocks`` assigns each factor its own, disjoint, dimensions of the code; ``states`` are the world states
    measured (default: all 48).

    Examples
    --------
    >>> round(leakage(disentangled_encoder)["mean"], 6)
    0.0
    """
    if not callable(encoder):
        raise TypeError(f"encoder must be a function of images, got {type(encoder).__name__}")
    if not isinstance(blocks, dict):
        raise TypeError(f"blocks must be a dict of factor -> list of dimensions, got {type(blocks).__name__}")
    if set(blocks) != set(FACTORS):
        raise ValueError(f"blocks must assign dimensions to each of {FACTORS}, got {sorted(map(str, blocks))}")
    dims = [d for f in FACTORS for d in blocks[f]]
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        raise TypeError("blocks must list integer dimensions")
    if len(set(dims)) != len(dims) or any(not blocks[f] for f in FACTORS):
        raise ValueError(f"blocks must be non-empty and disjoint (a dimension in two blocks cannot tell which "
                         f"factor moved it), got {blocks}")
    states = all_states() if states is None else states
    base = encoder(render(states))
    if not isinstance(base, torch.Tensor) or base.ndim != 2:
        raise ValueError(f"encoder must return a (n, d) tensor of codes, got {getattr(base, 'shape', type(base))}")
    if max(dims) >= base.shape[1] or min(dims) < 0:
        raise ValueError(f"blocks must index the encoder's code dimensions (0 to {base.shape[1] - 1}), got {blocks}")
    out = {}
    for factor in FACTORS:
        moved = encoder(render([act(factor, s) for s in states]))
        delta = moved - base
        others = [d for f, dims in blocks.items() if f != factor for d in dims]
        total = float((delta**2).sum())
        if total == 0:
            raise ValueError(f"the encoder does not change at all when {factor} changes: leakage is undefined")
        out[factor] = float((delta[:, others] ** 2).sum()) / total
    out["mean"] = float(np.mean([out[f] for f in FACTORS]))
    return out


def _factor_blocks(encoder: Callable[[torch.Tensor], torch.Tensor], dims: dict[str, int] | None,
                   states: list[State] | None) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Each factor's changes :math:`\\Delta^k` (float64, one row per state) and its block: the top ``dims[k]``
    right singular vectors of :math:`\\Delta^k`, as columns (checks the arguments)."""
    if not callable(encoder):
        raise TypeError(f"encoder must be a function of images, got {type(encoder).__name__}")
    dims = {f: 2 for f in FACTORS} if dims is None else dims
    if not isinstance(dims, dict):
        raise TypeError(f"dims must be a dict of factor -> block dimension, got {type(dims).__name__}")
    if set(dims) != set(FACTORS):
        raise ValueError(f"dims must give a block dimension for each of {FACTORS}, got {sorted(map(str, dims))}")
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in dims.values()):
        raise ValueError(f"dims must be positive integers, got {dims}")
    states = all_states() if states is None else states
    base = encoder(render(states))
    if not isinstance(base, torch.Tensor) or base.ndim != 2:
        raise ValueError(f"encoder must return a (n, d) tensor of codes, got {getattr(base, 'shape', type(base))}")
    if sum(dims.values()) > base.shape[1]:
        raise ValueError(f"dims must fit disjoint blocks into the encoder's {base.shape[1]} dimensions (their "
                         f"sum at most {base.shape[1]}), got {dims}")
    base = base.double()
    deltas = {f: encoder(render([act(f, s) for s in states])).double() - base for f in FACTORS}
    blocks = {}
    for factor in FACTORS:
        if float((deltas[factor] ** 2).sum()) == 0:
            raise ValueError(f"the encoder does not change at all when {factor} changes: leakage is undefined")
        blocks[factor] = torch.linalg.svd(deltas[factor], full_matrices=False).Vh[: dims[factor]].T
    return deltas, blocks


def subspace_leakage(encoder: Callable[[torch.Tensor], torch.Tensor], dims: dict[str, int] | None = None,
                     states: list[State] | None = None) -> dict[str, float]:
    r"""Leakage of each subgroup into the *orthogonal* span of the other factors' blocks (see the module
    docstring) and their mean under ``"mean"``.

    Each factor's block is found from the group action: the span of the top ``dims[factor]`` right singular
    vectors of its changes :math:`\Delta^k = f(h_k \cdot w) - f(w)` over the ``states`` (default: all 48).
    The leakage of factor :math:`k` is the share of :math:`\lVert \Delta^k \rVert^2` inside the span of the
    other factors' blocks. It does not change when the code is multiplied by an orthogonal matrix or its
    dimensions are permuted, but it does under other invertible matrices: a disentangled code whose blocks are
    not orthogonal scores above zero (use :func:`oblique_leakage` for Higgins et al.'s direct sum).

    Parameters
    ----------
    encoder
        Images ``(n, 3, 9, 9)`` to codes ``(n, d)``.
    dims
        Block dimension per factor (default 2 each: every factor is a cyclic group, acting on a circle).
    states
        World states measured.

    Examples
    --------
    >>> round(subspace_leakage(disentangled_encoder)["mean"], 6)
    0.0
    >>> round(subspace_leakage(entangled_encoder)["mean"], 6)     # a rotated disentangled code: still 0
    0.0
    >>> shear = torch.eye(6) + torch.diag(torch.ones(4), 2)        # blocks no longer orthogonal
    >>> subspace_leakage(lambda im: disentangled_encoder(im) @ shear)["mean"] > 0.1
    True
    """
    deltas, blocks = _factor_blocks(encoder, dims, states)
    out = {}
    for factor in FACTORS:
        others, _ = torch.linalg.qr(torch.cat([blocks[f] for f in FACTORS if f != factor], dim=1))
        out[factor] = float(((deltas[factor] @ others) ** 2).sum() / (deltas[factor] ** 2).sum())
    out["mean"] = float(np.mean([out[f] for f in FACTORS]))
    return out


def oblique_leakage(encoder: Callable[[torch.Tensor], torch.Tensor], dims: dict[str, int] | None = None,
                    states: list[State] | None = None) -> dict[str, float]:
    r"""Leakage of each subgroup in the factors' own (oblique) basis (see the module docstring) and their mean
    under ``"mean"``.

    The blocks :math:`U_k` are found as in :func:`subspace_leakage`. Each change :math:`\Delta^k_w` is then
    written in the basis :math:`B = [U_{\text{glyph}}\; U_{\text{colour}}\; U_{\text{rotation}}]` by least
    squares, :math:`\Delta^k \approx C^k B^\top`, and the leakage of factor :math:`k` is the share of
    :math:`\lVert C^k \rVert^2` in the coefficients of the other blocks. It is zero for a disentangled code
    whose blocks have the dimensions ``dims`` (each factor's changes in its own subspace, the subspaces a direct
    sum) whatever invertible linear map is applied to the code; for other codes its value is invariant to
    orthogonal maps and permutations only where each block is uniquely defined (no tie at its last singular
    value) and the blocks together have full rank (see the module docstring).

    Parameters
    ----------
    encoder
        Images ``(n, 3, 9, 9)`` to codes ``(n, d)``.
    dims
        Block dimension per factor (default 2 each).
    states
        World states measured.

    Examples
    --------
    >>> shear = torch.eye(6) + torch.diag(torch.ones(4), 2)
    >>> round(oblique_leakage(lambda im: disentangled_encoder(im) @ shear)["mean"], 6)   # still disentangled
    0.0
    >>> def tangled(im):                                   # the glyph scales the colour block: entangled
    ...     z = disentangled_encoder(im)
    ...     return torch.cat([z[:, :2], z[:, 2:4] * (2 + z[:, :1]), z[:, 4:]], 1)
    >>> round(oblique_leakage(tangled)["glyph"], 3), round(oblique_leakage(tangled)["colour"], 3)
    (0.333, 0.0)
    """
    deltas, blocks = _factor_blocks(encoder, dims, states)
    basis = torch.cat([blocks[f] for f in FACTORS], dim=1)
    ends = np.cumsum([0] + [blocks[f].shape[1] for f in FACTORS])
    out = {}
    for i, factor in enumerate(FACTORS):
        coef = torch.linalg.lstsq(basis, deltas[factor].T).solution  # (blocks' total dimension, states)
        own = float((coef[ends[i]:ends[i + 1]] ** 2).sum())
        total = float((coef**2).sum())
        out[factor] = (total - own) / total
    out["mean"] = float(np.mean([out[f] for f in FACTORS]))
    return out


def coordinate_leakage(encoder: Callable[[torch.Tensor], torch.Tensor], states: list[State] | None = None
                       ) -> dict[str, float]:
    r"""Leakage in the sense of coordinates: the block leakage (:func:`leakage`) of the best assignment of the
    code's dimensions to the factors (every dimension to one factor, every factor at least one), with the
    per-factor values of that assignment and their mean under ``"mean"``.

    This is disentanglement read as "different positions of a feature do different jobs": unlike
    :func:`oblique_leakage`, a disentangled code turned by a rotation of its space scores above zero. The
    assignment is searched exhaustively (:math:`3^d` of them), so the code may have at most 10 dimensions.

    Examples
    --------
    >>> round(coordinate_leakage(disentangled_encoder)["mean"], 6), coordinate_leakage(entangled_encoder)["mean"] > 0.1
    (0.0, True)
    """
    if not callable(encoder):
        raise TypeError(f"encoder must be a function of images, got {type(encoder).__name__}")
    states = all_states() if states is None else states
    base = encoder(render(states))
    if not isinstance(base, torch.Tensor) or base.ndim != 2 or not 3 <= base.shape[1] <= 10:
        raise ValueError(f"encoder must return (n, d) codes with 3 <= d <= 10, got {getattr(base, 'shape', base)}")
    base = base.double()
    energy = []  # (factor, dimension): how much each factor moves each dimension
    for factor in FACTORS:
        delta = encoder(render([act(factor, s) for s in states])).double() - base
        if float((delta**2).sum()) == 0:
            raise ValueError(f"the encoder does not change at all when {factor} changes: leakage is undefined")
        energy.append((delta**2).sum(0) / (delta**2).sum())
    energy = torch.stack(energy).numpy()
    assignments = np.array(list(itertools.product(range(3), repeat=energy.shape[1])))
    assignments = assignments[[len(set(a)) == 3 for a in assignments]]
    kept = np.stack([(energy[k] * (assignments == k)).sum(1) for k in range(3)], axis=1)  # (assignment, factor)
    best = int(np.argmax(kept.sum(1)))
    out = {f: float(1 - kept[best, k]) for k, f in enumerate(FACTORS)}
    out["mean"] = float(np.mean([out[f] for f in FACTORS]))
    return out


def _stacked_encode(weights: list[torch.Tensor], pixels: torch.Tensor) -> torch.Tensor:
    """Codes of ``S`` two-layer encoders at once: ``pixels`` ``(S, n, 243)`` to ``(S, n, d)``."""
    w1, b1, w2, b2 = weights
    return torch.relu(pixels @ w1 + b1) @ w2 + b2


def learned_leakage(n_states: int, seeds: list[int], steps: int = 400, code: int = 6, hidden: int = 64,
                    noise: float = 0.1, lr: float = 1e-2) -> list[dict[str, float]]:
    r"""Leakage of learned codes, one per seed, in two senses (means over the factors): ``"oblique"``
    (:func:`oblique_leakage`, Higgins et al.'s subspaces) and ``"coordinate"`` (:func:`coordinate_leakage`,
    dimensions assigned to factors).

    Per seed, an encoder (pixels :math:`\to` ``hidden`` ReLU units :math:`\to` a ``code``-dimensional code) and
    three linear heads reading the glyph, the colour and the rotation from the code are trained together
    (Adam, cross-entropy summed over the three factors, ``steps`` steps of 64 images) on ``n_states`` world
    states drawn from the 48 with the seed, each image with fresh pixel noise of standard deviation ``noise``.
    The leakage is then measured on all 48 states, noise-free: "data" here is how many of the world's
    combinations the encoder saw. The seeds train together (batched matrix products), each with its own
    weights and states.

    Examples
    --------
    >>> leaks = learned_leakage(48, [0, 1], steps=3)
    >>> len(leaks), all(0 <= v <= 1 for leak in leaks for v in leak.values()), sorted(leaks[0])
    (2, True, ['coordinate', 'oblique'])
    """
    if isinstance(n_states, bool) or not isinstance(n_states, (int, np.integer)) or not 1 <= n_states <= 48:
        raise ValueError(f"n_states must be an integer from 1 to 48, got {n_states!r}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    for name, value in (("steps", steps), ("code", code), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if code < 6:
        raise ValueError(f"code must be at least 6 (three 2-dimensional blocks), got {code}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"noise must be a number in [0, 1), got {noise!r}")
    states = all_states()
    pixels = render(states).flatten(1)
    targets = torch.tensor(states)
    count, size = len(seeds), pixels.shape[1]
    weights, chosen, gens = [], [], []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        chosen.append(torch.randperm(48, generator=gen)[:n_states])
        gens.append(gen)
    scale1, scale2 = 1 / np.sqrt(size), 1 / np.sqrt(hidden)
    gen = gens[0]
    shapes = ((size, hidden, scale1), (1, hidden, 0.0), (hidden, code, scale2), (1, code, 0.0))
    weights = [torch.stack([(torch.rand(a, b, generator=g) * 2 - 1) * sc for g in gens]).requires_grad_()
               for a, b, sc in shapes]
    heads = [torch.stack([(torch.rand(code, n, generator=g) * 2 - 1) / np.sqrt(code) for g in gens])
             .requires_grad_() for n in SIZES.values()]
    opt = torch.optim.Adam(weights + heads, lr=lr)
    picks_of = torch.stack(chosen)
    for _ in range(steps):
        picks = torch.stack([c[torch.randint(n_states, (64,), generator=g)] for c, g in zip(picks_of, gens)])
        noisy = pixels[picks] + noise * torch.randn(count, 64, size, generator=gen)
        z = _stacked_encode(weights, noisy)
        loss = sum(torch.nn.functional.cross_entropy((z @ h).flatten(0, 1), targets[picks][..., i].flatten())
                   for i, h in enumerate(heads))
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = []
    with torch.no_grad():
        for k in range(count):
            own = [w[k] for w in weights]
            def encode(im: torch.Tensor, own: list[torch.Tensor] = own) -> torch.Tensor:
                return _stacked_encode(own, im.flatten(1))

            out.append({"oblique": oblique_leakage(encode)["mean"], "coordinate": coordinate_leakage(encode)["mean"]})
    return out
