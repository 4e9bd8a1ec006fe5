"""Groups (axioms as property tests), exact equivariance of the group convolutions, disentanglement leakage,
the rotated-digits claim, and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.equivariance.disentangle import (
    BLOCKS, FACTORS, act, all_states, disentangled_encoder, entangled_encoder, leakage, render,
)
from causal_lessons.equivariance.group_conv import (
    C4_ON_IMAGES, C4_ON_LIFTED, TRIVIAL, C4InvariantCNN, GroupConvC4, LiftingConvC4, equivariance_error, pool_grid,
    strided_equivariance_error,
)
from causal_lessons.equivariance.groups import CyclicRotations, CyclicTranslations, Dihedral, cayley_table, regular_representation
from causal_lessons.equivariance.rotated_digits import learning_curves, make_model, mean_curves, rotate_randomly

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


@settings(max_examples=12, deadline=None)
@given(size=st.sampled_from([5, 7, 9, 11, 13]), k=st.sampled_from([1, 3, 5]), c=st.integers(1, 3),
       o=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_group_convolutions_are_equivariant_in_float32_and_float64(size, k, c, o, seed):
    torch.manual_seed(seed)
    lift, group = LiftingConvC4(c, o, k), GroupConvC4(o, o, k)
    x = torch.randn(2, c, size, size)
    assert equivariance_error(lift, x, C4_ON_IMAGES, C4_ON_LIFTED) < 1e-5
    y = torch.randn(2, o, 4, size, size)
    assert equivariance_error(group, y, C4_ON_LIFTED, C4_ON_LIFTED) < 1e-5
    lift64, group64 = lift.double(), group.double()
    assert equivariance_error(lift64, x.double(), C4_ON_IMAGES, C4_ON_LIFTED) < 1e-12
    assert equivariance_error(group64, y.double(), C4_ON_LIFTED, C4_ON_LIFTED) < 1e-12


def test_invariant_classifier_logits_do_not_change_under_rotation():
    torch.manual_seed(0)
    net = C4InvariantCNN(1, 10, channels=4).eval()
    x = torch.randn(3, 1, 17, 17)
    logits = net(x)
    for r in range(4):
        assert (net(torch.rot90(x, r, dims=(-2, -1))) - logits).abs().max() < 1e-5
    assert equivariance_error(net, x, C4_ON_IMAGES, TRIVIAL) < 1e-5


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


def test_pooling_commutes_with_rotation_on_odd_grids():
    x = torch.randn(2, 3, 4, 17, 17)
    assert equivariance_error(pool_grid, x, C4_ON_LIFTED, C4_ON_LIFTED) == 0.0


def test_leakage_of_reference_encoders():
    assert leakage(disentangled_encoder)["mean"] < 1e-6
    assert leakage(entangled_encoder)["mean"] > 0.1


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


def test_gcnn_beats_cnn_on_rotated_digits_at_every_size():
    curves = learning_curves([50, 200, 800], [0, 1], steps=150, progress=False)
    rotated = mean_curves(curves)["rotated test"]
    assert (rotated["G-CNN (C4)"] > rotated["CNN"]).all(), rotated


@pytest.mark.parametrize("call, error, match", [
    (lambda: LiftingConvC4(1, 2, 4), ValueError, "odd"),
    (lambda: GroupConvC4(1, 2, 2), ValueError, "odd"),
    (lambda: LiftingConvC4(1, 2, 3)(torch.randn(1, 9, 9)), ValueError, r"\(B, C, H, W\)"),
    (lambda: LiftingConvC4(1, 2, 3)(torch.randn(1, 1, 9, 8)), ValueError, "square"),
    (lambda: GroupConvC4(2, 2, 3)(torch.randn(1, 2, 9, 9)), ValueError, r"\(B, C, 4, H, W\)"),
    (lambda: GroupConvC4(2, 2, 3)(torch.randn(1, 3, 4, 9, 9)), ValueError, r"\(B, 2, 4, H, W\)"),
    (lambda: CyclicRotations().act(1, torch.randn(3, 4)), ValueError, "square"),
    (lambda: CyclicRotations().act(1, torch.randn(3)), ValueError, "at least 2 dimensions"),
    (lambda: CyclicRotations().act(1, [[1, 2], [3, 4]]), TypeError, "torch tensor"),
    (lambda: CyclicTranslations(3, 3).act((1, 1), torch.randn(4, 4)), ValueError, r"\(3, 3\)"),
    (lambda: CyclicTranslations(0, 3), ValueError, "positive"),
    (lambda: C4_ON_LIFTED.act(1, torch.randn(2, 3, 5, 5)), ValueError, r"\(\.\.\., 4, H, W\)"),
    (lambda: equivariance_error(lambda t: t * 0, torch.randn(1, 5, 5), C4_ON_IMAGES, C4_ON_IMAGES), ValueError, "zero"),
    (lambda: C4InvariantCNN(1, 2, depth=0), ValueError, "depth"),
    (lambda: make_model("ResNet"), ValueError, "name must be one of"),
    (lambda: rotate_randomly(torch.randn(2, 1, 5, 6)), ValueError, "images must have shape"),
    (lambda: act("size", (0, 0, 0)), ValueError, "factor must be one of"),
    (lambda: render([(4, 0, 0)]), ValueError, "outside the world"),
    (lambda: render([]), ValueError, "empty"),
    (lambda: disentangled_encoder(torch.zeros(2, 3, 8, 8)), ValueError, r"\(n, 3, 9, 9\)"),
    (lambda: leakage(disentangled_encoder, {"glyph": [0, 1]}), ValueError, "blocks must assign"),
    (lambda: learning_curves([], [0]), ValueError, "must not be empty"),
    (lambda: mean_curves(pd.DataFrame({"size": []})), ValueError, "missing columns"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
