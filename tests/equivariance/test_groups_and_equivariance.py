"""Groups (axioms as property tests), exact equivariance of the group convolutions, disentanglement leakage,
the rotated-digits claim, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from causal_lessons.equivariance.disentangle import (
    BLOCKS,
    FACTORS,
    act,
    all_states,
    coordinate_leakage,
    disentangled_encoder,
    entangled_encoder,
    leakage,
    oblique_leakage,
    render,
    subspace_leakage,
)
from causal_lessons.equivariance.group_conv import (
    C4_ON_IMAGES,
    C4_ON_LIFTED,
    D4_ON_IMAGES,
    D4_ON_LIFTED,
    TRIVIAL,
    TRIVIAL_D4,
    C4InvariantCNN,
    D4InvariantCNN,
    GroupConv,
    GroupConvC4,
    GroupConvD4,
    LiftingConv,
    LiftingConvC4,
    LiftingConvD4,
    axis_permutations,
    equivariance_error,
    pool_grid,
    regular_action,
    strided_equivariance_error,
)
from causal_lessons.equivariance.groups import (
    CyclicRotations,
    CyclicTranslations,
    Dihedral,
    cayley_table,
    regular_representation,
)
from causal_lessons.equivariance.rotated_digits import make_model, mean_curves, rotate_randomly

GROUPS = {"C4": CyclicRotations(), "D4": Dihedral(), "Z5xZ5": CyclicTranslations(5, 5)}


@pytest.mark.parametrize("name", GROUPS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_group_axioms_and_action(name, data):
    group = GROUPS[name]
    a, b, c = (data.draw(st.sampled_from(group.elements)) for _ in range(3))
    assert group.compose(group.compose(a, b), c) == group.compose(a, group.compose(b, c))
    assert group.compose(group.identity, a) == a == group.compose(a, group.identity)
    assert group.compose(a, group.inverse(a)) == group.identity == group.compose(group.inverse(a), a)
    assert group.compose(a, b) in group.elements
    x = torch.randn(2, 5, 5)
    assert torch.equal(group.act(group.identity, x), x)
    assert torch.equal(group.act(a, group.act(b, x)), group.act(group.compose(a, b), x))


@pytest.mark.parametrize("name", GROUPS)
def test_regular_representation_is_a_homomorphism_into_permutations(name):
    group = GROUPS[name]
    rho = regular_representation(group)
    n = len(group.elements)
    for a in group.elements:
        assert torch.equal(rho[a].sum(0), torch.ones(n)) and torch.equal(rho[a].sum(1), torch.ones(n))
        for b in group.elements:
            assert torch.equal(rho[a] @ rho[b], rho[group.compose(a, b)])
    table = cayley_table(group)
    assert all(sorted(row) == list(range(n)) for row in table)  # Latin square


def test_d4_is_not_abelian():
    d4 = Dihedral()
    assert d4.compose((1, 0), (0, 1)) != d4.compose((0, 1), (1, 0))


ACTIONS = {"C4": (LiftingConvC4, GroupConvC4, C4_ON_IMAGES, C4_ON_LIFTED),
           "D4": (LiftingConvD4, GroupConvD4, D4_ON_IMAGES, D4_ON_LIFTED)}


@pytest.mark.parametrize("group", ACTIONS)
@settings(max_examples=12, deadline=None)
@given(size=st.sampled_from([5, 7, 9, 11, 13]), k=st.sampled_from([1, 3, 5]), c=st.integers(1, 3),
       o=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_group_convolutions_are_equivariant_in_float32_and_float64(group, size, k, c, o, seed):
    lifting, groupconv, on_images, on_lifted = ACTIONS[group]
    torch.manual_seed(seed)
    lift, conv = lifting(c, o, k), groupconv(o, o, k)
    order = len(on_images.group.elements)
    x = torch.randn(2, c, size, size)
    assert equivariance_error(lift, x, on_images, on_lifted) < 1e-5
    y = torch.randn(2, o, order, size, size)
    assert equivariance_error(conv, y, on_lifted, on_lifted) < 1e-5
    assert equivariance_error(lambda t: conv(lift(t)), x, on_images, on_lifted) < 1e-5
    lift64, conv64 = lift.double(), conv.double()
    assert equivariance_error(lift64, x.double(), on_images, on_lifted) < 1e-12
    assert equivariance_error(conv64, y.double(), on_lifted, on_lifted) < 1e-12


def test_regular_action_is_an_action_and_c4_is_the_cyclic_shift():
    for group in (CyclicRotations(), Dihedral()):
        action = regular_action(group)
        y = torch.randn(2, len(group.elements), 5, 5)
        for a in group.elements:
            for b in group.elements:
                assert torch.equal(action.act(a, action.act(b, y)), action.act(group.compose(a, b), y))
    y = torch.randn(3, 4, 5, 5)
    for r in range(4):
        assert torch.equal(C4_ON_LIFTED.act(r, y), torch.roll(torch.rot90(y, r, dims=(-2, -1)), r, dims=-3))
    assert axis_permutations(Dihedral()).shape == (8, 8)


def test_d4_lifting_is_not_merely_c4_equivariant():
    """A C4 lifting convolution is not reflection-equivariant: the D4 layer is needed for flips."""
    torch.manual_seed(0)
    x = torch.randn(2, 1, 9, 9)
    flip = D4_ON_IMAGES.act((1, 0), x)
    c4 = LiftingConvC4(1, 3)
    out, out_flip = c4(x), c4(flip)
    assert min((out_flip - torch.flip(out[:, :, perm], dims=(-1,))).norm() / out.norm()
               for perm in ([0, 1, 2, 3], [0, 3, 2, 1], [2, 1, 0, 3], [1, 0, 3, 2], [3, 2, 1, 0])) > 0.1
    assert equivariance_error(LiftingConvD4(1, 3), x, D4_ON_IMAGES, D4_ON_LIFTED) < 1e-5


def test_the_generic_layers_match_the_c4_layers():
    torch.manual_seed(0)
    named, generic = GroupConvC4(2, 3), GroupConv(CyclicRotations(), 2, 3)
    generic.load_state_dict(named.state_dict())
    y = torch.randn(2, 2, 4, 7, 7)
    assert torch.equal(named(y), generic(y))
    lift = LiftingConv(Dihedral(), 1, 2)
    assert lift.expanded_filters().shape == (16, 1, 3, 3)


def test_invariant_classifier_logits_do_not_change_under_rotation():
    torch.manual_seed(0)
    net = C4InvariantCNN(1, 10, channels=4).eval()
    x = torch.randn(3, 1, 17, 17)
    logits = net(x)
    for r in range(4):
        assert (net(torch.rot90(x, r, dims=(-2, -1))) - logits).abs().max() < 1e-5
    assert equivariance_error(net, x, C4_ON_IMAGES, TRIVIAL) < 1e-5


@pytest.mark.parametrize("side", [9, 17])
def test_d4_classifier_is_invariant_to_rotations_and_reflections(side):
    torch.manual_seed(1)
    net = D4InvariantCNN(1, 10, channels=3).eval()
    x = torch.randn(4, 1, side, side)
    assert equivariance_error(net, x, D4_ON_IMAGES, TRIVIAL_D4) < 1e-5
    assert equivariance_error(net.double(), x.double(), D4_ON_IMAGES, TRIVIAL_D4) < 1e-12
    c4 = C4InvariantCNN(1, 10, channels=3).eval()
    assert equivariance_error(c4, x, D4_ON_IMAGES, TRIVIAL_D4) > 1e-3  # a C4 net is not flip-invariant


def test_plain_conv_is_far_from_equivariant():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 32, 5, padding=2)
    assert equivariance_error(conv, torch.randn(2, 3, 15, 15), C4_ON_IMAGES, C4_ON_IMAGES) > 0.5


def test_parity_of_the_grid_decides_strided_exactness():
    for size in (9, 13, 17):
        assert strided_equivariance_error(size, 2) < 1e-5
    for size in (8, 12, 16):
        assert strided_equivariance_error(size, 2) > 0.1
    assert strided_equivariance_error(16, 3) < 1e-5


def test_pooling_commutes_with_rotations_and_reflections_on_odd_grids():
    x = torch.randn(2, 3, 4, 17, 17)
    assert equivariance_error(pool_grid, x, C4_ON_LIFTED, C4_ON_LIFTED) == 0.0
    assert equivariance_error(pool_grid, torch.randn(2, 3, 8, 9, 9), D4_ON_LIFTED, D4_ON_LIFTED) == 0.0
    assert equivariance_error(pool_grid, torch.randn(2, 3, 8, 8, 8), D4_ON_LIFTED, D4_ON_LIFTED) > 0.1


def test_leakage_of_reference_encoders():
    assert leakage(disentangled_encoder)["mean"] < 1e-6
    assert leakage(entangled_encoder)["mean"] > 0.1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_subspace_leakage_does_not_depend_on_the_basis(seed):
    # Higgins et al.'s definition asks for subspaces: a disentangled code times any orthogonal matrix, or with its
    # coordinates permuted, is still disentangled. The block leakage sees the permutation; the subspace one does not.
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen))
    perm = torch.randperm(6, generator=gen)
    assert subspace_leakage(lambda im: disentangled_encoder(im) @ q)["mean"] < 1e-10
    assert subspace_leakage(lambda im: disentangled_encoder(im)[:, perm])["mean"] < 1e-10
    swapped = leakage(lambda im: disentangled_encoder(im)[:, [2, 3, 0, 1, 4, 5]])["mean"]
    assert swapped == pytest.approx(2 / 3)


def test_subspace_leakage_of_a_code_that_mixes_two_factors():
    # Glyph and colour share one circle coordinate: half of each one's change falls in the other's block. This is
    # a shear of a disentangled code (a linear map): the orthogonal subspace leakage sees it, the oblique one does
    # not (test_oblique_leakage_is_zero_for_any_linear_image_of_a_disentangled_code).
    def mixed(images):
        z = disentangled_encoder(images).double()
        return torch.cat([z[:, :2] + z[:, 2:4], z[:, 2:4], z[:, 4:]], dim=1)

    out = subspace_leakage(mixed)
    assert out["rotation"] < 1e-10 and out["glyph"] > 0.1 and out["colour"] > 0.1
    with pytest.raises(ValueError, match="dims must fit disjoint blocks"):
        subspace_leakage(disentangled_encoder, {"glyph": 2, "colour": 2, "rotation": 3})


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.05, 1.0))
def test_oblique_leakage_is_zero_for_any_linear_image_of_a_disentangled_code(seed, scale):
    # Higgins et al. ask for a direct sum of subspaces: a disentangled code times any invertible matrix (the
    # referee's I + 0.3 randn, a shear) is still disentangled. The orthogonal subspace leakage is not zero there.
    gen = torch.Generator().manual_seed(seed)
    a = torch.eye(6, dtype=torch.float64) + scale * torch.randn(6, 6, generator=gen, dtype=torch.float64)
    assume(abs(float(torch.linalg.det(a))) > 1e-2 and float(torch.linalg.cond(a)) < 1e3)
    assert oblique_leakage(lambda im: disentangled_encoder(im).double() @ a)["mean"] < 1e-8
    shear = torch.eye(6) + torch.diag(torch.ones(4), 2)
    assert oblique_leakage(lambda im: disentangled_encoder(im) @ shear)["mean"] < 1e-8
    assert subspace_leakage(lambda im: disentangled_encoder(im) @ shear)["mean"] > 0.1


def test_oblique_leakage_sees_a_code_that_is_not_a_direct_sum():
    # The glyph scales the colour block (a nonlinear mixing): glyph changes move the colour block, and no basis
    # removes that. Their share is a third of the glyph's change (exact for this code).
    def tangled(images):
        z = disentangled_encoder(images).double()
        return torch.cat([z[:, :2], z[:, 2:4] * (2 + z[:, :1]), z[:, 4:]], dim=1)

    out = oblique_leakage(tangled)
    assert out["glyph"] == pytest.approx(1 / 3, abs=1e-6) and out["colour"] < 1e-10 and out["rotation"] < 1e-10


def test_coordinate_leakage_takes_the_best_assignment_of_dimensions():
    # Permuting the dimensions does not matter (the best assignment follows them); a rotation of the space does.
    perm = [3, 0, 5, 1, 4, 2]
    assert coordinate_leakage(lambda im: disentangled_encoder(im)[:, perm])["mean"] < 1e-12
    assert coordinate_leakage(entangled_encoder)["mean"] > 0.1
    out = coordinate_leakage(entangled_encoder)
    assert out["mean"] == pytest.approx(np.mean([out[f] for f in ("glyph", "colour", "rotation")]))


def test_disentangled_encoder_is_equivariant_blockwise():
    states = all_states()
    base = disentangled_encoder(render(states))
    for factor in FACTORS:
        moved = disentangled_encoder(render([act(factor, s) for s in states]))
        dims = BLOCKS[factor]
        others = [d for d in range(6) if d not in dims]
        torch.testing.assert_close(moved[:, others], base[:, others])
        # within the block, the generator acts by one fixed rotation matrix for every state
        solution = torch.linalg.lstsq(base[:, dims], moved[:, dims]).solution
        torch.testing.assert_close(base[:, dims] @ solution, moved[:, dims], atol=1e-5, rtol=0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: LiftingConvC4(1, 2, 4), ValueError, "odd"),
    (lambda: GroupConvC4(1, 2, 2), ValueError, "odd"),
    (lambda: LiftingConvC4(1, 2, 3)(torch.randn(1, 9, 9)), ValueError, r"\(B, 1, H, W\)"),
    (lambda: LiftingConvC4(3, 2, 3)(torch.randn(1, 1, 9, 9)), ValueError, r"\(B, 3, H, W\) \(in_channels = 3\)"),
    (lambda: LiftingConvD4(1, 2, 3)(torch.randn(1, 1, 9, 9).double().fill_(float("nan"))), ValueError, "finite"),
    (lambda: GroupConvD4(2, 2, 3)(torch.randn(1, 2, 4, 9, 9)), ValueError, r"\(B, 2, 8, H, W\)"),
    (lambda: C4InvariantCNN(2, 10)(torch.randn(1, 1, 9, 9)), ValueError, r"\(B, 2, H, W\)"),
    (lambda: LiftingConvC4(1, 2, 3)(torch.randn(1, 1, 9, 8)), ValueError, "square"),
    (lambda: GroupConvC4(2, 2, 3)(torch.randn(1, 2, 9, 9)), ValueError, r"\(B, 2, 4, H, W\)"),
    (lambda: GroupConvC4(2, 2, 3)(torch.randn(1, 3, 4, 9, 9)), ValueError, r"\(B, 2, 4, H, W\)"),
    (lambda: CyclicRotations().act(1, torch.randn(3, 4)), ValueError, "square"),
    (lambda: CyclicRotations().act(1, torch.randn(3)), ValueError, "at least 2 dimensions"),
    (lambda: CyclicRotations().act(1, [[1, 2], [3, 4]]), TypeError, "torch tensor"),
    (lambda: CyclicTranslations(3, 3).act((1, 1), torch.randn(4, 4)), ValueError, r"\(3, 3\)"),
    (lambda: CyclicTranslations(0, 3), ValueError, "height must be an integer >= 1"),
    (lambda: C4_ON_LIFTED.act(1, torch.randn(2, 3, 5, 5)), ValueError, r"\(\.\.\., 4, H, W\)"),
    (lambda: equivariance_error(lambda t: t * 0, torch.randn(1, 5, 5), C4_ON_IMAGES, C4_ON_IMAGES), ValueError, "zero"),
    (lambda: equivariance_error(lambda t: t, torch.full((1, 5, 5), float("nan")), C4_ON_IMAGES, C4_ON_IMAGES),
     ValueError, "x must hold only finite"),
    (lambda: equivariance_error(lambda t: t / 0, torch.ones(1, 5, 5), C4_ON_IMAGES, C4_ON_IMAGES), ValueError,
     "not finite"),
    (lambda: equivariance_error(lambda t: t, torch.ones(1, 5, 5), C4_ON_IMAGES, D4_ON_IMAGES), ValueError,
     "same group"),
    (lambda: C4InvariantCNN(1, 2, depth=0), ValueError, "depth"),
    (lambda: make_model("ResNet"), ValueError, "name must be one of"),
    (lambda: rotate_randomly(torch.randn(2, 1, 5, 6)), ValueError, "images must have shape"),
    (lambda: act("size", (0, 0, 0)), ValueError, "factor must be one of"),
    (lambda: render([(4, 0, 0)]), ValueError, "outside the world"),
    (lambda: render([]), ValueError, "empty"),
    (lambda: disentangled_encoder(torch.zeros(2, 3, 8, 8)), ValueError, r"\(n, 3, 9, 9\)"),
    (lambda: leakage(disentangled_encoder, {"glyph": [0, 1]}), ValueError, "blocks must assign"),
    (lambda: mean_curves(pd.DataFrame({"size": []})), ValueError, "missing columns"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
