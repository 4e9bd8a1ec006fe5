from __future__ import annotations

import pytest
import torch

from causal_lessons.correlation.neural_adjustment import (
    adjusted_probability, binary_confounded_scm, fit_outcome_model, naive_probability,
)


def test_adjustment_recovers_the_interventional_probability():
    model = binary_confounded_scm()
    obs = model.sample_torch(20_000, seed=0)
    truth = {x: float(model.do(X=x).sample_torch(400_000, seed=1)["Y"].mean()) for x in (0.0, 1.0)}
    outcome = fit_outcome_model(obs["X"], obs["Z"], obs["Y"], steps=600, progress=False)
    adjusted = {x: adjusted_probability(outcome, x, obs["Z"]) for x in (0.0, 1.0)}
    naive = {x: naive_probability(obs["X"], obs["Y"], x) for x in (0.0, 1.0)}
    true_effect = truth[1.0] - truth[0.0]
    assert abs((adjusted[1.0] - adjusted[0.0]) - true_effect) < 0.06
    assert abs((naive[1.0] - naive[0.0]) - true_effect) > 0.15
    for x in (0.0, 1.0):
        assert abs(adjusted[x] - truth[x]) < 0.04


def test_without_confounding_naive_is_right():
    model = binary_confounded_scm(confounding=0.0)
    obs = model.sample_torch(100_000, seed=0)
    truth = float(model.do(X=1.0).sample_torch(400_000, seed=1)["Y"].mean())
    assert abs(naive_probability(obs["X"], obs["Y"], 1.0) - truth) < 0.01


@pytest.mark.parametrize("call, error, match", [
    (lambda: naive_probability(torch.zeros(3), torch.zeros(3), 1.0), ValueError, "never occurs"),
    (lambda: fit_outcome_model(torch.zeros(3), torch.zeros(4), torch.zeros(3)), ValueError, "z must have shape"),
    (lambda: fit_outcome_model(torch.zeros(3), torch.zeros(3), torch.full((3,), 0.5)), ValueError, "0/1"),
    (lambda: fit_outcome_model([0.0], [0.0], [0.0]), TypeError, "torch tensors"),
    (lambda: fit_outcome_model(torch.zeros(0), torch.zeros(0), torch.zeros(0)), ValueError, "non-empty"),
    (lambda: fit_outcome_model(torch.zeros(3), torch.zeros(3), torch.zeros(3), steps=0), ValueError, "steps"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
