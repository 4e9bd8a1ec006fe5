"""The IRMv1 penalty (definition against closed form), its errors, and environment inference."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.context.inference import (
    best_split,
    eiil_objective,
    infer_environments,
    partition_agreement,
    partition_kappa,
    split_environment,
)
from causal_lessons.context.penalty import example_gradients, irmv1_penalty, irmv1_penalty_closed_form


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 300), scale=st.floats(0.01, 8.0), seed=st.integers(0, 10_000),
       column=st.booleans(), integer_labels=st.booleans())
def test_penalty_equals_its_closed_form(n, scale, seed, column, integer_labels):
    gen = torch.Generator().manual_seed(seed)
    z = scale * torch.randn(n, generator=gen, dtype=torch.float64)
    y = (torch.rand(n, generator=gen) < 0.5).to(torch.long if integer_labels else torch.float64)
    logits = z[:, None] if column else z
    expected = ((torch.sigmoid(z) - y.double()) * z).mean() ** 2
    assert abs(irmv1_penalty(logits, y).item() - float(expected)) < 1e-6
    assert abs(float(irmv1_penalty_closed_form(logits, y)) - float(expected)) < 1e-12


def test_penalty_is_the_squared_derivative_by_finite_differences():
    gen = torch.Generator().manual_seed(3)
    z = 2 * torch.randn(50, generator=gen, dtype=torch.float64)
    y = (torch.rand(50, generator=gen) < 0.4).double()
    h = 1e-6
    risk = lambda w: float(F.binary_cross_entropy_with_logits(w * z, y))  # noqa: E731
    derivative = (risk(1 + h) - risk(1 - h)) / (2 * h)
    assert irmv1_penalty(z, y).item() == pytest.approx(derivative ** 2, rel=1e-6)


def test_penalty_is_differentiable_and_its_gradient_matches_the_closed_form():
    gen = torch.Generator().manual_seed(1)
    z1 = torch.randn(20, generator=gen, dtype=torch.float64, requires_grad=True)
    z2 = z1.detach().clone().requires_grad_(True)
    y = (torch.rand(20, generator=gen) < 0.5).double()
    irmv1_penalty(z1, y).backward()
    irmv1_penalty_closed_form(z2, y).backward()
    torch.testing.assert_close(z1.grad, z2.grad)


def test_penalty_is_zero_where_the_scale_is_optimal():
    # Logits log(a / (1 - a)) on a set where the label is 1 with frequency a: w = 1 minimises the risk.
    z = torch.full((10,), float(torch.log(torch.tensor(0.7 / 0.3))), dtype=torch.float64)
    y = torch.tensor([1.0] * 7 + [0.0] * 3, dtype=torch.float64)
    assert irmv1_penalty(z, y).item() < 1e-15


@pytest.mark.parametrize("logits, y, error, match", [
    (torch.zeros(3), torch.zeros(4), ValueError, "one label per logit"),
    (torch.zeros(3, 2), torch.zeros(3), ValueError, r"shape \(N,\) or \(N, 1\)"),
    (torch.zeros(0), torch.zeros(0), ValueError, "N >= 1"),
    (torch.zeros(3), torch.tensor([0.0, 0.5, 1.0]), ValueError, r"labels in \{0, 1\}"),
    (torch.zeros(3), torch.tensor([0, 2, 1]), ValueError, r"labels in \{0, 1\}"),
    (torch.tensor([0.0, float("nan")]), torch.zeros(2), ValueError, "finite"),
    (torch.zeros(3, dtype=torch.long), torch.zeros(3), TypeError, "floating-point"),
    ([0.0, 1.0], torch.zeros(2), TypeError, "logits"),
    (torch.zeros(2), [0, 1], TypeError, "y must be a tensor"),
])
def test_penalty_errors_name_the_problem(logits, y, error, match):
    for fn in (irmv1_penalty, irmv1_penalty_closed_form):
        with pytest.raises(error, match=match):
            fn(logits, y)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 10_000))
def test_best_split_maximises_the_eiil_objective_over_every_hard_split(n, seed):
    gen = torch.Generator().manual_seed(seed)
    z = 3 * torch.randn(n, generator=gen, dtype=torch.float64)
    y = (torch.rand(n, generator=gen) < 0.5).double()
    best = float(eiil_objective(best_split(z, y).double(), z, y))
    brute = max(float(eiil_objective(torch.tensor(bits, dtype=torch.float64), z, y))
                for bits in itertools.product((0.0, 1.0), repeat=n))
    assert best == pytest.approx(brute, rel=1e-12, abs=1e-15)


def test_positive_example_gradients_are_the_mistakes():
    z = torch.tensor([2.0, -2.0, 0.3, -0.3])
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert (example_gradients(z, y) > 0).tolist() == [True, False, False, True]


def test_gradient_ascent_finds_the_best_split():
    gen = torch.Generator().manual_seed(0)
    z = 2 * torch.randn(400, generator=gen)
    y = (torch.rand(400, generator=gen) < 0.5).float()
    q = infer_environments(z, y, steps=2_000, lr=0.05)
    assert partition_agreement(q > 0.5, best_split(z, y)) > 0.99
    # Environment A is named as the one where the reference model errs.
    assert float(((q > 0.5) & best_split(z, y)).float().sum()) > 0.9 * float(best_split(z, y).sum())


def test_the_seed_of_the_starting_assignment_is_a_non_negative_integer():
    """seed=-1 was accepted (torch reads it as 2**64 - 1; issue 20): seeds are integers >= 0, and one seed gives
    one start."""
    z, y = torch.tensor([3.0, -2.0, 1.0, -1.5]), torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert torch.equal(infer_environments(z, y, steps=5, seed=7), infer_environments(z, y, steps=5, seed=7))
    assert not torch.equal(infer_environments(z, y, steps=5, seed=0), infer_environments(z, y, steps=5, seed=1))
    for bad, error in ((-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed must be an integer"):
            infer_environments(z, y, steps=5, seed=bad)


def test_partition_agreement_ignores_the_names_of_the_environments():
    truth = torch.tensor([True, True, False, False, False])
    assert partition_agreement(truth, truth) == 1.0
    assert partition_agreement(~truth, truth) == 1.0
    assert partition_agreement(torch.tensor([1, 0, 0, 0, 0]), truth) == 0.8
    with pytest.raises(ValueError, match="truth must have 5 entries"):
        partition_agreement(truth, truth[:3])
    with pytest.raises(ValueError, match="inferred must be boolean"):
        partition_agreement(torch.tensor([0.2, 0.5, 1, 0, 0]), truth)


def test_kappa_is_zero_for_a_partition_that_recovers_nothing():
    # The chapter's base rate: the colour agrees with the label for 85% of the pooled examples. Putting every
    # example on one side agrees with the truth on 85% of them, and recovers nothing: kappa 0.
    truth = torch.arange(200) < 170
    assert partition_agreement(torch.ones(200), truth) == 0.85
    assert partition_kappa(torch.ones(200), truth) == pytest.approx(0.0, abs=1e-12)
    assert partition_kappa(truth, truth) == 1.0 and partition_kappa(~truth, truth) == 1.0


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 200), seed=st.integers(0, 10_000))
def test_kappa_matches_sklearn(n, seed):
    from sklearn.metrics import cohen_kappa_score

    gen = torch.Generator().manual_seed(seed)
    inferred, truth = torch.rand(n, generator=gen) < 0.3, torch.rand(n, generator=gen) < 0.8
    if float((inferred == truth).double().mean()) < 0.5:
        named = ~inferred
    else:
        named = inferred
    if named.all() and truth.all() or not named.any() and not truth.any():
        with pytest.raises(ValueError, match="both sides"):
            partition_kappa(inferred, truth)
        return
    expected = cohen_kappa_score(named.numpy(), truth.numpy())
    assert partition_kappa(inferred, truth) == pytest.approx(expected, abs=1e-9)


def test_split_refuses_a_partition_with_one_environment():
    from causal_lessons.context.coloured_digits import coloured_digits

    env = coloured_digits().test
    with pytest.raises(ValueError, match="nothing to split"):
        split_environment(env, torch.ones(len(env)))
