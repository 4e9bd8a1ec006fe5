from __future__ import annotations

import pandas as pd
import pytest

from causal_lessons.correlation.discovery import pc_skeleton, skeleton_recovery_rate
from causal_lessons.correlation.scm import LinearTriangle

TRUTH = {frozenset({"C", "G"}), frozenset({"G", "N"})}


def test_pc_finds_the_triangle_without_the_chocolate_nobel_edge():
    model = LinearTriangle(a=2.0, b=2.0, beta=0.0).scm()
    skeletons = [pc_skeleton(model.sample(2_000, seed=s), alpha=0.01) for s in range(20)]
    hits = sum(frozenset({"C", "N"}) not in sk and TRUTH <= sk for sk in skeletons)
    assert hits >= 19, f"PC recovered C - G - N without C - N in only {hits} of 20 seeds"


def test_pc_keeps_a_real_direct_effect():
    model = LinearTriangle(a=1.0, b=1.0, beta=0.5).scm()
    assert frozenset({"C", "N"}) in pc_skeleton(model.sample(2_000, seed=0), alpha=0.01)


def test_weak_links_at_n_23_are_often_missed():
    model = LinearTriangle(a=0.5, b=0.5, beta=0.0).scm()
    assert skeleton_recovery_rate(model.sample, TRUTH, n=23, seeds=range(20), alpha=0.01) < 0.5


@pytest.mark.parametrize("call, error, match", [
    (lambda: pc_skeleton({"a": [1]}), TypeError, "DataFrame"),
    (lambda: pc_skeleton(pd.DataFrame({"a": range(10), "b": range(10)}), alpha=2.0), ValueError, "alpha"),
    (lambda: pc_skeleton(pd.DataFrame({"a": range(10)}), columns=["z"]), ValueError, "not columns"),
    (lambda: pc_skeleton(pd.DataFrame({"a": range(3), "b": range(3)})), ValueError, "at least"),
    (lambda: skeleton_recovery_rate(LinearTriangle(1.0, 1.0, 0.0).scm().sample, TRUTH, 10, seeds=[]), ValueError,
     "seeds must not be empty"),
    (lambda: skeleton_recovery_rate(None, TRUTH, 10, seeds=[0]), TypeError, "sampler must be callable"),
    (lambda: pc_skeleton(pd.DataFrame({"a": [1.0, float("nan"), 3, 4, 5], "b": range(5)})), ValueError, "finite"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_partial_pearson_p_value_is_the_test_pc_runs():
    from causallearn.utils.cit import CIT

    from causal_lessons.correlation.estimation import partial_pearson

    data = LinearTriangle(a=0.6, b=0.5, beta=0.2).scm().sample(40, seed=3)
    test = CIT(data[["C", "G", "N"]].to_numpy(), "fisherz")
    assert partial_pearson(data, "C", "N", ["G"]).p_value == pytest.approx(test(0, 2, [1]), rel=1e-9)
    assert partial_pearson(data, "C", "G", []).p_value == pytest.approx(test(0, 1, []), rel=1e-9)
