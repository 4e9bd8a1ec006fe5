"""Structural causal models: sampling matches the closed forms; do() is graph surgery; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.correlation.estimation import adjusted_effect
from causal_lessons.correlation.scm import SCM, LinearTriangle, Mechanism, constant

N = 100_000
coef = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False).map(lambda v: round(v, 2))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(a=coef, b=coef, beta=coef, sigma_c=st.sampled_from([0.5, 1.0, 2.0]), seed=st.integers(0, 10_000))
def test_sampler_matches_closed_form_within_standard_errors(a, b, beta, sigma_c, seed):
    t = LinearTriangle(a=a, b=b, beta=beta, sigma_c=sigma_c)
    data = t.scm().sample(N, seed=seed)
    # Standard errors of the OLS slopes and of r; 5 SE makes a false alarm a one-in-a-million event.
    resid_naive = t.var_n - t.naive_slope**2 * t.var_c
    se_naive = np.sqrt(resid_naive / (N * t.var_c))
    se_adjusted = t.sigma_n / np.sqrt(N * sigma_c**2)
    se_r = (1 - t.correlation**2) / np.sqrt(N)
    assert abs(adjusted_effect(data, "C", "N") - t.naive_slope) < 5 * se_naive
    assert abs(adjusted_effect(data, "C", "N", ["G"]) - t.adjusted_slope) < 5 * se_adjusted
    assert abs(np.corrcoef(data["C"], data["N"])[0, 1] - t.correlation) < 5 * se_r + 1e-12


def test_planted_effect_is_recovered_by_adjustment():
    data = LinearTriangle(a=2.0, b=2.0, beta=0.3).scm().sample(N, seed=0)
    assert abs(adjusted_effect(data, "C", "N", ["G"]) - 0.3) < 0.01
    assert abs(adjusted_effect(data, "C", "N") - 0.3) > 0.5


def _chain_model() -> SCM:
    return SCM({
        "A": Mechanism((), lambda noise: noise),
        "B": Mechanism(("A",), lambda A, noise: A + noise),
        "C": Mechanism(("A", "B"), lambda A, B, noise: A - B + noise),
        "D": Mechanism(("C",), lambda C, noise: 2 * C + noise),
        "E": Mechanism(("B", "D"), lambda B, D, noise: B * D + noise),
    })


@given(targets=st.sets(st.sampled_from("ABCDE"), min_size=1))
def test_do_removes_exactly_the_incoming_edges_of_the_targets(targets):
    model = _chain_model()
    before = set(model.graph().edges())
    after = set(model.do(**{v: 1.0 for v in targets}).graph().edges())
    assert after == {(u, v) for (u, v) in before if v not in targets}
    assert set(model.graph().edges()) == before  # the original model is unchanged


def test_do_sets_the_value_and_leaves_other_mechanisms():
    model = _chain_model()
    out = model.do(C=2.0).sample(50_000, seed=1)
    assert (out["C"] == 2.0).all()
    assert abs(out["D"].mean() - 4.0) < 0.03
    assert abs(out["B"].var() - 2.0) < 0.05  # B := A + noise still has variance 2


def test_observational_differs_from_interventional():
    model = LinearTriangle(a=2.0, b=2.0, beta=0.0).scm()
    obs = model.sample(200_000, seed=2)
    near = obs.loc[(obs["C"] - 2.0).abs() < 0.1, "N"].mean()
    do = model.do(C=2.0).sample(200_000, seed=3)["N"].mean()
    assert abs(do) < 0.02 and near > 1.0


def test_torch_and_numpy_backends_agree():
    model = LinearTriangle(a=1.0, b=1.0, beta=0.5).scm()
    t = model.sample_torch(200_000, seed=0, dtype=torch.float64)
    n = model.sample(200_000, seed=0)
    for name in "GCN":
        assert t[name].dtype == torch.float64 and t[name].shape == (200_000,)
        assert abs(t[name].var().item() - n[name].var()) < 0.05


def test_intervened_torch_sample_is_constant():
    out = LinearTriangle(a=1.0, b=1.0, beta=0.5).scm().do(C=1.5).sample_torch(10, seed=0)
    assert torch.all(out["C"] == 1.5)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown variables \['X'\]"):
        _chain_model().do(X=1.0)
    with pytest.raises(ValueError, match="at least one intervention"):
        _chain_model().do()
    with pytest.raises(ValueError, match="acyclic.*cycle"):
        SCM({"A": Mechanism(("B",), lambda B, noise: B), "B": Mechanism(("A",), lambda A, noise: A)})
    with pytest.raises(ValueError, match=r"mechanism of 'B' takes arguments \('A', 'C', 'noise'\)"):
        SCM({"A": Mechanism((), lambda noise: noise), "B": Mechanism(("A",), lambda A, C, noise: A)})
    with pytest.raises(ValueError, match="not variables of the model"):
        SCM({"A": Mechanism(("Z",), lambda Z, noise: Z)})
    with pytest.raises(TypeError, match=r"mechanisms\['A'\] must be a Mechanism"):
        SCM({"A": lambda noise: noise})
    with pytest.raises(ValueError, match="non-empty"):
        SCM({})
    with pytest.raises(ValueError, match="n must be"):
        _chain_model().sample(0)
    with pytest.raises(ValueError, match="noise_std"):
        Mechanism((), lambda noise: noise, noise_std=-1.0)
    with pytest.raises(ValueError, match="var_g"):
        LinearTriangle(a=1, b=1, beta=0, var_g=0.0)


def test_constant_mechanism():
    assert constant(3.0).fn(noise=np.zeros(2)).tolist() == [3.0, 3.0]


def test_conditional_and_interventional_means_match_simulation():
    world = LinearTriangle(a=0.9, b=1.3, beta=0.15, var_g=4.0, sigma_c=1.5, sigma_n=2.0, mean_g=30.0, c0=2.0,
                           n0=-5.0)
    model = world.scm()
    do = model.do(C=25.0).sample(400_000, seed=0)["N"]
    assert abs(do.mean() - world.interventional_mean(25.0)) < 5 * do.std() / np.sqrt(len(do))
    obs = model.sample(2_000_000, seed=1)
    near = obs.loc[(obs["C"] - 25.0).abs() < 0.05, "N"]
    assert abs(near.mean() - world.conditional_mean(25.0)) < 5 * near.std() / np.sqrt(len(near)) + 0.01
    assert world.interventional_mean(25.0) == pytest.approx(-5.0 + 1.3 * 30.0 + 0.15 * 25.0)
    assert abs(obs["C"].mean() - world.mean_c) < 0.01 and abs(obs["N"].mean() - world.mean_n) < 0.01


def test_fork_in_standard_units_has_the_product_correlation():
    fork = LinearTriangle.fork(0.61, 0.6)
    assert fork.correlation == pytest.approx(0.61 * 0.6) and fork.var_c == pytest.approx(1.0)
    assert set(fork.scm().graph().edges) == {("G", "C"), ("G", "N")}


def test_linear_triangle_rejects_bad_parameters():
    with pytest.raises(TypeError, match="a must be a real number"):
        LinearTriangle(a="1", b=1.0, beta=0.0)
    with pytest.raises(ValueError, match="beta must be finite"):
        LinearTriangle(a=1.0, b=1.0, beta=float("nan"))
