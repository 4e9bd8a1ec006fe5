"""Bad input to chapter 1's public callables raises ValueError or TypeError naming the argument (the harness is
``tests/bad_input.py``; ``tests/test_bad_input.py`` checks that every public callable is listed here or exempt)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from bad_input import Case, check_case, params

from causal_lessons.correlation import claims, discovery, dowhy_steps, estimation, explorers, lab, labels, scm
from causal_lessons.correlation import neural_adjustment as na

M = "causal_lessons.correlation"
FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.5, 4.0, 5.5, 6.0, 8.0], "y": [2.0, 1.0, 4.0, 3.0, 6.5, 5.0, 9.0],
                      "z": [0.5, 1.5, 1.0, 2.5, 2.0, 3.5, 3.0]})
SERIES = [1.0, 2.0, 3.5, 4.0, 5.5]
TRIANGLE = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 3)), columns=["C", "G", "N"])
X = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
Z = torch.tensor([0.1, -0.3, 0.8, -1.2, 0.4])


def _labelled(x, y, texts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        return labels.place_labels(ax, x, y, texts)
    finally:
        plt.close(fig)


NUMBER = ("nan", "inf", "type")
CASES = [
    # estimation
    Case(estimation.pearson, {"x": SERIES, "y": SERIES[::-1], "confidence": 0.95}, ("x", "y", "confidence"),
         message={"confidence": "confidence"}),
    Case(estimation.regression_coefficients, {"data": FRAME, "outcome": "y", "regressors": ["x"]}, ("data",)),
    # an empty adjustment set (or regressor list, or conditioning set) is legitimate: the naive regression
    Case(estimation.regression_coefficients, {"data": FRAME, "outcome": "y", "regressors": ["x"]},
         ("outcome", "regressors"), kinds=("type",)),
    Case(estimation.adjusted_effect, {"data": FRAME, "treatment": "x", "outcome": "y", "adjust": ["z"]},
         ("data",)),
    Case(estimation.adjusted_effect, {"data": FRAME, "treatment": "x", "outcome": "y", "adjust": ["z"]},
         ("treatment", "outcome", "adjust"), kinds=("type",)),
    Case(estimation.partial_correlation, {"data": FRAME, "x": "x", "y": "y", "given": ["z"]}, ("data",)),
    Case(estimation.partial_correlation, {"data": FRAME, "x": "x", "y": "y", "given": ["z"]},
         ("x", "y", "given"), kinds=("type",)),
    Case(estimation.partial_pearson, {"data": FRAME, "x": "x", "y": "y", "given": ["z"], "confidence": 0.95},
         ("data",)),
    Case(estimation.partial_pearson, {"data": FRAME, "x": "x", "y": "y", "given": ["z"], "confidence": 0.95},
         ("x", "y", "given", "confidence"), kinds=NUMBER),
    # discovery
    Case(discovery.pc_skeleton, {"data": TRIANGLE, "alpha": 0.05, "columns": ["C", "G", "N"]},
         ("data", "alpha", "columns")),
    Case(discovery.pc_skeletons, {"sampler": scm.LinearTriangle(1.0, 1.0, 0.0).scm().sample, "n": 50,
                                  "seeds": [0, 1], "alpha": 0.05}, ("sampler", "n", "seeds", "alpha")),
    Case(discovery.skeleton_recovery_rate, {"sampler": scm.LinearTriangle(1.0, 1.0, 0.0).scm().sample,
                                            "truth": {frozenset({"C", "G"})}, "n": 50, "seeds": [0]},
         ("sampler", "truth", "n", "seeds")),
    # DoWhy
    Case(dowhy_steps.four_steps, {"data": TRIANGLE, "treatment": "C", "outcome": "N", "common_causes": ["G"],
                                  "refuters": ["placebo_treatment_refuter"], "num_simulations": 5, "seed": 0},
         ("data",)),
    # no common causes, or no refuters, are legitimate requests
    Case(dowhy_steps.four_steps, {"data": TRIANGLE, "treatment": "C", "outcome": "N", "common_causes": ["G"],
                                  "refuters": ["placebo_treatment_refuter"], "num_simulations": 5, "seed": 0},
         ("treatment", "outcome", "common_causes", "refuters", "num_simulations", "seed"), kinds=NUMBER),
    # structural causal models
    Case(scm.Mechanism, {"parents": ("G",), "fn": lambda G, noise: G + noise, "noise_std": 1.0},
         ("parents", "fn", "noise_std"), kinds=NUMBER),
    Case(scm.constant, {"value": 2.0}, ("value",), kinds=NUMBER),
    Case(scm.SCM, {"mechanisms": {"X": scm.Mechanism((), lambda noise: noise)}}, ("mechanisms",), kinds=("type",)),
    Case(scm.LinearTriangle, {"a": 1.0, "b": 2.0, "beta": 0.5, "var_g": 1.0, "sigma_c": 1.0, "sigma_n": 1.0,
                              "mean_g": 0.0, "c0": 0.0, "n0": 0.0},
         ("a", "b", "beta", "var_g", "sigma_c", "sigma_n", "mean_g", "c0", "n0"), kinds=NUMBER),
    # the lab's world and the neural adjustment
    Case(na.binary_confounded_scm, {"confounding": 1.5}, ("confounding",), kinds=NUMBER),
    Case(na.true_interventional, {"x_value": 1.0}, ("x_value",), kinds=NUMBER),
    Case(na.true_conditional, {"x_value": 1.0, "confounding": 1.5}, ("x_value", "confounding"), kinds=NUMBER),
    Case(na.OutcomeMLP, {"n_confounders": 1, "hidden": 8}, ("n_confounders", "hidden"), kinds=NUMBER),
    Case(na.fit_outcome_model, {"x": X, "z": Z, "y": X, "steps": 1, "batch_size": 4, "lr": 0.01, "seed": 0},
         ("x", "z", "y", "steps", "batch_size", "lr", "seed")),
    Case(na.adjusted_probability, {"model": na.OutcomeMLP(1, hidden=4), "x_value": 1.0, "z": Z},
         ("model", "x_value", "z")),
    Case(na.naive_probability, {"x": X, "y": X, "x_value": 1.0}, ("x", "y", "x_value")),
    # figures
    Case(explorers.confounding_panel, {"confounding": 1.0, "effect": 0.5, "n": 50, "seed": 0},
         ("confounding", "effect", "n", "seed"), kinds=NUMBER),
    Case(explorers.confounding_grid, {"confoundings": (0.0, 1.0), "effects": (0.0,), "n": 50},
         ("confoundings", "effects", "n")),
    Case(_labelled, {"x": SERIES, "y": SERIES, "texts": ["a", "b", "c", "d", "e"]}, ("x", "y", "texts"),
         target=f"{M}.labels.place_labels"),
    # the lab's configuration and the claim rows
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(claims.claims, {"results": None}, ("results",), kinds=("type",)),
]

EXEMPT = {
    f"{M}.scm.tanh": "element-wise maths on arrays and tensors: NaN in gives NaN out, as numpy's own tanh does",
    f"{M}.scm.sigmoid": "element-wise maths on arrays and tensors: NaN in gives NaN out, as numpy's own functions do",
    f"{M}.neural_adjustment.outcome_score": "element-wise maths on arrays and tensors (the lab's mechanism): NaN "
                                            "in gives NaN out",
    f"{M}.estimation.Correlation": "a record returned by pearson and partial_pearson",
    f"{M}.dowhy_steps.FourSteps": "a record returned by four_steps",
    f"{M}.claims.CorrelationResults": "a record returned by measure",
    f"{M}.claims.measure": "no arguments",
    f"{M}.lab.LabSettings": "a record returned by settings",
    f"{M}.explorers.confounding_explorer": "no arguments: sliders bound to confounding_panel, which is tested",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_correlation_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


@pytest.mark.parametrize("call, error, match", [
    # the example: a string where a list of column names is expected
    (lambda: estimation.adjusted_effect(FRAME, "x", "y", adjust="z"), TypeError, r"write \['z'\]"),
    (lambda: estimation.partial_correlation(FRAME, "x", "y", given="z"), TypeError, "single string"),
    (lambda: estimation.regression_coefficients(FRAME.assign(c=1.0), "y", ["x", "c"]), ValueError, "collinear"),
    (lambda: estimation.partial_correlation(FRAME.assign(c=FRAME["z"] * 2), "c", "y", ["z"]), ValueError,
     "residual is constant"),
    (lambda: dowhy_steps.four_steps(TRIANGLE, "C", "N", "G"), TypeError, r"write \['G'\]"),
    (lambda: scm.LinearTriangle(1.0, 1.0, 0.0).scm().do(C=float("nan")), ValueError, r"do\(C=...\)"),
    (lambda: na.true_interventional(0.5), ValueError, "0 or 1"),
    (lambda: na.adjusted_probability(na.OutcomeMLP(2), 1.0, Z), ValueError, r"\(n, 2\)"),
    (lambda: scm.LinearTriangle.fork(1.0, 0.5), ValueError, "r_gc must lie strictly between"),
])
def test_errors_say_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()
