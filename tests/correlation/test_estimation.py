"""Estimation helpers: against closed forms, against DoWhy on the real data, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from causal_lessons.correlation.dowhy_steps import REFUTERS, four_steps
from causal_lessons.correlation.estimation import adjusted_effect, partial_correlation, pearson, regression_coefficients
from causal_lessons.correlation.scm import LinearTriangle
from causal_lessons.datasets import load_chocolate_nobel


def test_pearson_on_real_data_and_its_interval():
    df = load_chocolate_nobel()
    c = pearson(df["chocolate_kg_per_capita"], df["nobel_laureates_per_10m"])
    assert round(c.r, 3) == 0.791 and c.n == 23
    z, half = np.arctanh(c.r), stats.norm.ppf(0.975) / np.sqrt(20)
    assert c.ci_low == pytest.approx(np.tanh(z - half)) and c.ci_high == pytest.approx(np.tanh(z + half))
    assert c.p_value < 1e-4


def test_partial_correlation_equals_precision_matrix_formula():
    df = load_chocolate_nobel()
    cols = ["chocolate_kg_per_capita", "nobel_laureates_per_10m", "gdp_per_capita"]
    precision = np.linalg.inv(np.corrcoef(df[cols].to_numpy().T))
    expected = -precision[0, 1] / np.sqrt(precision[0, 0] * precision[1, 1])
    assert partial_correlation(df, cols[0], cols[1], [cols[2]]) == pytest.approx(expected, abs=1e-12)
    assert round(expected, 3) == 0.604  # the number in the data's SOURCES.md


@pytest.mark.parametrize("gdp", ["gdp_per_capita", "gdp_per_capita_gapminder_2007"])
def test_adjusted_effect_equals_dowhy_backdoor_regression(gdp):
    df = load_chocolate_nobel()
    ours = adjusted_effect(df, "chocolate_kg_per_capita", "nobel_laureates_per_10m", [gdp])
    theirs = four_steps(df, "chocolate_kg_per_capita", "nobel_laureates_per_10m", [gdp], refuters=()).estimate
    assert abs(ours - theirs) < 1e-6


def test_four_steps_refuters_on_simulated_data():
    data = LinearTriangle(a=1.0, b=1.0, beta=0.3).scm().sample(3_000, seed=5)
    res = four_steps(data, "C", "N", ["G"], num_simulations=20)
    assert res.backdoor_set == ("G",)
    assert list(res.refutations["refuter"]) == list(REFUTERS)
    placebo = res.refutations.set_index("refuter").loc["placebo_treatment_refuter", "new effect"]
    assert abs(placebo) < 0.05 and abs(res.estimate - 0.3) < 0.05


def test_regression_recovers_exact_linear_relation():
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=500), rng.normal(size=500)
    coefs = regression_coefficients({"x": x, "z": z, "y": 1.5 * x - 2 * z + 0.25}, "y", ["x", "z"])
    assert coefs == pytest.approx({"intercept": 0.25, "x": 1.5, "z": -2.0})


@pytest.mark.parametrize("call, error, match", [
    (lambda: pearson([1, 2, 3, 4], [1, 2, 3, 4, 5]), ValueError, "same length"),
    (lambda: pearson([1, 2, 3], [1, 2, 3]), ValueError, "at least 4"),
    (lambda: pearson([1, 1, 1, 1], [1, 2, 3, 4]), ValueError, "must both vary"),
    (lambda: pearson([1, 2, 3, 4], [1, 2, 3, 5], confidence=1.5), ValueError, "confidence"),
    (lambda: pearson([1, 2, np.nan, 4], [1, 2, 3, 4]), ValueError, "finite"),
    (lambda: pearson([[1, 2], [3, 4]], [1, 2]), ValueError, "1-D"),
    (lambda: pearson(["a", "b", "c", "d"], [1, 2, 3, 4]), TypeError, "x must be a sequence of numbers"),
    (lambda: adjusted_effect({"x": [1.0] * 5}, "x", "y"), ValueError, "'y', which is not a column"),
    (lambda: adjusted_effect({"x": [1.0] * 5, "y": [1.0] * 5}, "x", "y", ["x"]), ValueError, "adjust"),
    (lambda: regression_coefficients({"x": [1.0] * 5, "y": [1.0] * 5}, "y", "x"), TypeError, "regressors"),
    (lambda: partial_correlation({"x": [1.0] * 5, "y": [2.0] * 5}, "x", "y", "z"), TypeError, "given"),
    (lambda: four_steps({"a": 1}, "a", "b", []), TypeError, "DataFrame"),
    (lambda: four_steps(load_chocolate_nobel(), "chocolate", "nobel", []), ValueError, "treatment names"),
    (lambda: four_steps(load_chocolate_nobel(), "chocolate_kg_per_capita", "nobel_laureates_per_10m",
                        [], refuters=("bootstrap",)), ValueError, "refuters"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
