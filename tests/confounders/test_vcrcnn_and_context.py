"""The feature-level intervention module and the context-shortcut lab's claims."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.confounders.context_shortcut import (
    backdoor_weights, context_experiment, make_context_images, train_classifier,
)
from causal_lessons.confounders.vcrcnn import VCIntervention, confounder_dictionary, nwgm


@settings(max_examples=50, deadline=None)
@given(k=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 1000))
def test_nwgm_of_softmax_is_softmax_of_expected_logits(k, c, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(k, c, generator=gen, dtype=torch.float64)
    w = torch.rand(k, generator=gen, dtype=torch.float64)
    w = w / w.sum()
    torch.testing.assert_close(nwgm(logits.softmax(-1), w), (w @ logits).softmax(-1))


def test_linear_head_commutes_with_the_expectation():
    torch.manual_seed(0)
    dictionary, prior = torch.randn(5, 6), torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
    model = VCIntervention(4, dictionary, prior, n_classes=3)
    x = torch.randn(7, 4)
    a = model.attention(x)
    torch.testing.assert_close(a.sum(-1), torch.ones(7))
    # E_z[f(x, z)] with weights a * P(z) equals f(x, E_z[z]) for the linear f of the module.
    expected = model.classify_x(x) + (a * prior) @ model.classify_z(dictionary)
    torch.testing.assert_close(model(x), expected)


def test_confounder_dictionary_is_the_class_mean():
    features = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 4.0]])
    labels = torch.tensor([[1, 0], [1, 1], [0, 1]])
    dictionary, prior = confounder_dictionary(features, labels)
    torch.testing.assert_close(dictionary, torch.tensor([[2.0, 1.0], [1.5, 3.0]]))
    torch.testing.assert_close(prior, torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize("call, match", [
    (lambda: confounder_dictionary(torch.zeros(3, 2), torch.zeros(2, 2)), "same N"),
    (lambda: confounder_dictionary(torch.zeros(2, 2), torch.full((2, 2), 0.5)), "only 0 and 1"),
    (lambda: confounder_dictionary(torch.zeros(2, 2), torch.tensor([[1, 0], [1, 0]])), "at least one image"),
    (lambda: nwgm(torch.full((2, 3), 1 / 3), torch.tensor([0.7, 0.7])), "sum to 1"),
    (lambda: nwgm(torch.full((3,), 1 / 3), torch.tensor([1.0])), r"\(K, C\)"),
    (lambda: VCIntervention(4, torch.zeros(3, 2), torch.full((2,), 0.5), 2), "dictionary must be"),
    (lambda: VCIntervention(4, torch.zeros(2, 2), torch.tensor([0.9, 0.9]), 2), "prior must be"),
    (lambda: VCIntervention(4, torch.zeros(2, 2), torch.full((2,), 0.5), 2).attention(torch.zeros(3, 5)), "x must have shape"),
])
def test_vcrcnn_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_backdoor_weights_make_class_and_context_independent():
    data = make_context_images(4_000, bias=0.9, seed=0)
    w = backdoor_weights(data.y, data.z)
    joint = torch.zeros(4, 4).index_put_((data.y, data.z), w, accumulate=True)
    joint = joint / joint.sum()
    torch.testing.assert_close(joint, joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True), atol=1e-6, rtol=0)


def test_intervened_images_have_random_context():
    data = make_context_images(8_000, bias=0.25, seed=1)
    assert abs(float((data.y == data.z).float().mean()) - 0.25) < 0.02


def test_adjusted_training_beats_plain_on_the_intervened_test_set():
    results = context_experiment(3_000, 0.9, seeds=[0, 1, 2], epochs=4, progress=False)
    means = results.groupby("method")["intervened test"].mean()
    assert means["backdoor-adjusted"] > means["plain"] + 0.2, means


@pytest.mark.parametrize("call, error, match", [
    (lambda: make_context_images(0, 0.9), ValueError, "n must be"),
    (lambda: make_context_images(10, 1.5), ValueError, "bias"),
    (lambda: backdoor_weights(torch.tensor([0, 1]), torch.tensor([0])), ValueError, "same length"),
    (lambda: train_classifier(make_context_images(8, 0.5), weights=torch.ones(3)), ValueError, "weights"),
    (lambda: context_experiment(10, 0.9, seeds=[]), ValueError, "seeds"),
])
def test_context_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
