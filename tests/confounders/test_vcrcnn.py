"""VC R-CNN's feature-level intervention: the exact expectation, the two approximations and their measured
error."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.confounders.vcrcnn import (
    NWGMIntervention,
    VCIntervention,
    approximation_errors,
    confounder_dictionary,
    fit,
    nwgm,
)


@settings(max_examples=50, deadline=None)
@given(k=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 1000))
def test_nwgm_of_softmax_is_softmax_of_expected_logits(k, c, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(k, c, generator=gen, dtype=torch.float64)
    w = torch.rand(k, generator=gen, dtype=torch.float64)
    w = w / w.sum()
    torch.testing.assert_close(nwgm(logits.softmax(-1), w), (w @ logits).softmax(-1))


def two_confounders(spread: float) -> VCIntervention:
    """Two classes, two equally likely confounders whose logits are (+s, -s) and (-s, +s) around zero."""
    model = VCIntervention(1, torch.tensor([[1.0], [-1.0]]), torch.tensor([0.5, 0.5]), n_classes=2)
    with torch.no_grad():
        model.classify_x.weight.zero_()
        model.classify_x.bias.zero_()
        model.classify_z.weight.copy_(torch.tensor([[spread], [-spread]]))
    return model


@pytest.mark.parametrize("spread", [0.5, 1.0, 3.0])
def test_the_exact_expectation_is_the_arithmetic_mean(spread):
    model = two_confounders(spread)
    p = torch.sigmoid(torch.tensor(2 * spread))
    # Mean of (p, 1 - p) and (1 - p, p): exactly (0.5, 0.5); E_z[z] = 0 gives the same for the NWGM.
    torch.testing.assert_close(model.exact(torch.zeros(1, 1)), torch.tensor([[0.5, 0.5]]))
    torch.testing.assert_close(model.nwgm(torch.zeros(1, 1)), torch.tensor([[0.5, 0.5]]))
    assert 0.5 < float(p) < 1


def test_nwgm_error_has_the_closed_form_of_an_asymmetric_prior():
    # Prior (0.8, 0.2) over logit vectors (0, 0) and (4, 0): exact mean 0.8 * 0.5 + 0.2 * sigmoid(4);
    # NWGM: softmax of 0.2 * (4, 0), i.e. sigmoid(0.8). The TV distance is their difference.
    model = VCIntervention(1, torch.tensor([[0.0], [1.0]]), torch.tensor([0.8, 0.2]), n_classes=2)
    with torch.no_grad():
        model.classify_x.weight.zero_()
        model.classify_x.bias.zero_()
        model.classify_z.weight.copy_(torch.tensor([[4.0], [0.0]]))
    exact = 0.8 * 0.5 + 0.2 / (1 + math.exp(-4))
    approx = 1 / (1 + math.exp(-0.8))
    errors = approximation_errors(model, torch.zeros(3, 1))
    torch.testing.assert_close(errors["nwgm"], torch.full((3,), abs(exact - approx)), atol=1e-6, rtol=0)


def test_no_confounder_in_the_logits_means_no_error():
    torch.manual_seed(0)
    model = VCIntervention(4, torch.randn(5, 6), torch.full((5,), 0.2), n_classes=3)
    with torch.no_grad():
        model.classify_z.weight.zero_()
    errors = approximation_errors(model, torch.randn(20, 4))
    assert float(errors["nwgm"].max()) < 1e-6 and float(errors["attention"].max()) < 1e-6


def test_attention_weights_do_not_sum_to_one():
    torch.manual_seed(0)
    prior = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
    model = VCIntervention(4, torch.randn(5, 6), prior, n_classes=3)
    with torch.no_grad():
        total = (model.attention(torch.randn(50, 4)) * prior).sum(-1)
    # A convex combination of the prior's entries: between its smallest and largest value, far from 1.
    assert float(total.min()) >= 0.1 - 1e-6 and float(total.max()) <= 0.3 + 1e-6


def test_linear_head_commutes_with_the_attention_weighted_sum():
    torch.manual_seed(0)
    dictionary, prior = torch.randn(5, 6), torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
    model = VCIntervention(4, dictionary, prior, n_classes=3)
    x = torch.randn(7, 4)
    a = model.attention(x)
    torch.testing.assert_close(a.sum(-1), torch.ones(7))
    expected = model.classify_x(x) + (a * prior) @ model.classify_z(dictionary)
    torch.testing.assert_close(model(x), expected)


def test_training_lowers_the_loss_and_spreads_the_logits():
    torch.manual_seed(0)
    x = torch.randn(400, 4)
    target = (x[:, 0] > 0).long()
    model = VCIntervention(4, torch.randn(3, 4), torch.full((3,), 1 / 3), n_classes=2)
    before = approximation_errors(model, x)["nwgm"].mean()
    losses = fit(model, x, target, steps=200, lr=5e-2)
    assert losses[-1] < 0.5 * losses[0]
    assert approximation_errors(model, x)["nwgm"].mean() >= before


def test_confounder_dictionary_is_the_class_mean():
    features = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 4.0]])
    labels = torch.tensor([[1, 0], [1, 1], [0, 1]])
    dictionary, prior = confounder_dictionary(features, labels)
    torch.testing.assert_close(dictionary, torch.tensor([[2.0, 1.0], [1.5, 3.0]]))
    torch.testing.assert_close(prior, torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize("call, error, match", [
    (lambda: confounder_dictionary(torch.zeros(3, 2), torch.zeros(2, 2)), ValueError, "same N"),
    (lambda: confounder_dictionary(torch.zeros(2, 2), torch.full((2, 2), 0.5)), ValueError, "only 0 and 1"),
    (lambda: confounder_dictionary(torch.zeros(2, 2), torch.tensor([[1, 0], [1, 0]])), ValueError,
     "at least one image"),
    (lambda: nwgm(torch.full((2, 3), 1 / 3), torch.tensor([0.7, 0.7])), ValueError, "sum to 1"),
    (lambda: nwgm(torch.full((2, 3), 0.5), torch.tensor([0.5, 0.5])), ValueError, "distribution in each row"),
    (lambda: nwgm(torch.full((3,), 1 / 3), torch.tensor([1.0])), ValueError, "2-D"),
    (lambda: VCIntervention(4, torch.zeros(3, 2), torch.full((2,), 0.5), 2), ValueError, "dictionary must be"),
    (lambda: VCIntervention(4, torch.zeros(2, 2), torch.tensor([0.9, 0.9]), 2), ValueError, "prior must be"),
    (lambda: VCIntervention(4, torch.zeros(2, 2), torch.full((2,), 0.5), 2)(torch.zeros(3, 5)), ValueError,
     r"x must be a non-empty tensor of shape \(B, 4\)"),
    (lambda: approximation_errors("model", torch.zeros(2, 4)), TypeError, "model must be a VCIntervention"),
    (lambda: fit(VCIntervention(2, torch.zeros(2, 2), torch.full((2,), 0.5), 2), torch.zeros(4, 2),
                 torch.tensor([0, 1, 2, 0]), steps=1), ValueError, r"target must hold classes in \[0, 2\)"),
])
def test_vcrcnn_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_nwgm_trained_control_predicts_with_the_nwgm_itself():
    torch.manual_seed(0)
    dictionary, prior = torch.randn(4, 3), torch.tensor([0.1, 0.2, 0.3, 0.4])
    control = NWGMIntervention(3, dictionary, prior, n_classes=2)
    x = torch.randn(6, 3)
    # its input is E_z[z] for every x, so its prediction is the NWGM and both errors coincide
    assert torch.allclose(control.expected_confounder(x), (prior @ dictionary).expand(6, -1))
    errors = approximation_errors(control, x)
    assert torch.allclose(errors["nwgm"], errors["attention"])
    with pytest.raises(ValueError, match="x must be a non-empty tensor"):
        control.expected_confounder(torch.randn(2, 5))
