"""Co-occurrence statistics: the talk's numbers on real COCO labels, the vectorised tables against plain
per-pair counting, the critique on the scene world, and clear errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from causal_lessons.confounders.cooccurrence import (
    backdoor,
    backdoor_matrix,
    class_index,
    conditional,
    conditional_matrix,
    interventional,
    interventional_matrix,
    resampled_pair,
    skipped_strata,
    stratum_table,
    three_way_counts,
)
from causal_lessons.confounders.scenes import make_scene_world, select_photos
from causal_lessons.correlation.dowhy_steps import four_steps
from causal_lessons.datasets import load_coco_labels


@pytest.fixture(scope="module")
def train2014():
    return load_coco_labels("train2014")


def test_talk_association_numbers(train2014):
    assert round(conditional(train2014, "sink", "hair drier"), 4) == 0.5625
    assert round(conditional(train2014, "person", "toilet"), 4) == 0.1196


def test_talk_interventional_numbers(train2014):
    assert abs(interventional(train2014, "sink", "hair drier") - 0.39) < 0.01
    assert abs(interventional(train2014, "person", "toilet") - 0.29) < 0.01


def test_matrices_agree_with_the_scalar_functions(train2014):
    inter, assoc = interventional_matrix(train2014), conditional_matrix(train2014)
    rng = np.random.default_rng(0)
    for x, y in rng.choice(80, size=(25, 2)):
        if x != y:
            assert inter[x, y] == pytest.approx(interventional(train2014, int(y), int(x)), abs=1e-12)
            assert assoc[x, y] == pytest.approx(conditional(train2014, int(y), int(x)), abs=1e-12)


def _per_pair_interventional(labels: np.ndarray) -> np.ndarray:
    """The estimator written the straightforward way, one pair and one stratum at a time."""
    k = labels.shape[1]
    out = np.full((k, k), np.nan)
    prior = labels.mean(0)
    for x, y in itertools.product(range(k), range(k)):
        if x == y:
            out[x, y] = 1.0 if labels[:, x].any() else np.nan
            continue
        num = den = 0.0
        for z in range(k):
            n_xz = int((labels[:, x] & labels[:, z]).sum())
            if z in (x, y) or n_xz == 0:
                continue
            num += prior[z] * (labels[:, x] & labels[:, z] & labels[:, y]).sum() / n_xz
            den += prior[z]
        out[x, y] = num / den if den > 0 else np.nan
    return out


label_matrices = arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(2, 6)), elements=st.integers(0, 1))


@settings(max_examples=60, deadline=None)
@given(labels=label_matrices)
def test_vectorised_tables_equal_plain_counting(labels):
    np.testing.assert_allclose(interventional_matrix(labels), _per_pair_interventional(labels), equal_nan=True)
    brute = np.einsum("ix,iz,iy->xzy", labels.astype(int), labels.astype(int), labels.astype(int))
    np.testing.assert_array_equal(three_way_counts(labels), brute)


@settings(max_examples=40, deadline=None)
@given(labels=label_matrices, strata=st.integers(1, 3))
def test_backdoor_matrix_equals_scalar_backdoor(labels, strata):
    z = np.arange(len(labels)) % strata
    table = backdoor_matrix(labels, z)
    for x, y in itertools.permutations(range(labels.shape[1]), 2):
        try:
            expected = backdoor(labels[:, x], labels[:, y], z)
        except ValueError:
            assert np.isnan(table[x, y])
        else:
            assert table[x, y] == pytest.approx(expected)


def test_stratum_contributions_sum_to_the_estimate(train2014):
    table = stratum_table(train2014, "person", "toilet")
    assert table["weight"].sum() == pytest.approx(1.0)
    assert table["contribution"].sum() == pytest.approx(interventional(train2014, "person", "toilet"))
    assert not {"person", "toilet"} & set(table["z"])


@settings(max_examples=60, deadline=None)
@given(labels=arrays(np.uint8, st.tuples(st.integers(3, 30), st.integers(3, 5)), elements=st.integers(0, 1)),
       seed=st.integers(0, 10_000))
def test_resampled_statistic_equals_recomputing_on_the_resample(labels, seed):
    labels[0, :] = 1  # x = column 0 occurs with every stratum at least once
    idx = np.random.default_rng(seed).integers(0, len(labels), len(labels))
    stat = resampled_pair(labels, 1, 0)
    resampled = labels[idx]
    if not resampled[:, 0].any():
        assert np.isnan(stat(idx)).all()
        return
    assoc, adjusted = stat(idx)
    assert assoc == pytest.approx(conditional(resampled, 1, 0))
    try:
        expected = interventional(resampled, 1, 0)
    except ValueError:
        assert np.isnan(adjusted)
    else:
        assert adjusted == pytest.approx(expected)


def test_skipped_strata_complete_the_strata_that_enter(train2014):
    for y, x in (("sink", "hair drier"), ("person", "toilet"), ("mouse", "keyboard")):
        entered, skipped = stratum_table(train2014, y, x), skipped_strata(train2014, y, x)
        assert len(entered) + len(skipped) == 78 and not set(entered["z"]) & set(skipped["z"])
        assert (entered["#(x, z)"] > 0).all() and (entered["#(x, z, y)"] <= entered["#(x, z)"]).all()
    assert len(skipped_strata(train2014, "sink", "hair drier")) == 44


def test_a_nan_stratum_is_refused():
    # A NaN in z used to become a stratum of its own and give a number.
    with pytest.raises(ValueError, match="z must not hold NaN"):
        backdoor([1, 0, 1, 0], [1, 0, 0, 1], [0.0, 0.0, float("nan"), float("nan")])


TESTED = [("sink", "hair drier"), ("person", "toilet"), ("mouse", "keyboard"), ("car", "traffic light"),
          ("chair", "laptop"), ("refrigerator", "oven"), ("cup", "bottle"), ("toothbrush", "sink")]


def test_scene_adjustment_recovers_the_truth_and_object_strata_do_not():
    world = make_scene_world(positivity_floor=0.03)
    labels, scene = world.sample(200_000, seed=0)
    object_strata = interventional_matrix(labels)
    errors = []
    for y, x in TESTED:
        xi, yi = world.index(x), world.index(y)
        truth = world.p_y(y)
        scene_error = abs(backdoor(labels[:, xi], labels[:, yi], scene) - truth)
        assert scene_error < 0.01, (y, x, scene_error)
        errors.append(abs(object_strata[xi, yi] - truth))
    assert np.mean(errors) > 0.05  # the object-strata estimate stays far from the truth


def test_exact_association_of_the_world_matches_the_sample():
    world = make_scene_world(0.03)
    labels, _ = world.sample(200_000, seed=1)
    x, y = world.index("toilet"), world.index("person")
    assert conditional(labels, y, x) == pytest.approx(world.p_y_given_x("person", "toilet"), abs=0.01)


def test_positivity_failure_is_reported():
    world = make_scene_world(positivity_floor=0.0)
    labels, scene = world.sample(20_000, seed=0)
    with pytest.raises(ValueError, match="positivity fails"):
        backdoor(labels[:, world.index("toilet")], labels[:, world.index("person")], scene)
    assert np.isnan(backdoor_matrix(labels, scene)[world.index("toilet")]).all()


def test_selection_bias_survives_scene_adjustment():
    world = make_scene_world(0.03)
    labels, scene = world.sample(200_000, seed=2)
    p, t = world.index("person"), world.index("toilet")
    kept = select_photos(labels, p, t, keep_both=0.1, seed=0)
    assert world.p_y("person") - backdoor(labels[kept, t], labels[kept, p], scene[kept]) > 0.2


def test_dowhy_agrees_with_the_package_on_scene_data():
    world = make_scene_world(0.03)
    labels, scene = world.sample(200_000, seed=3)
    t, p = world.index("toilet"), world.index("person")
    frame = pd.DataFrame({"toilet": labels[:, t], "person": labels[:, p]})
    for s in range(1, len(world.scene_names)):
        frame[f"scene{s}"] = (scene == s).astype(float)
    dowhy = four_steps(frame, "toilet", "person", [f"scene{s}" for s in range(1, 4)], refuters=()).estimate
    ours = backdoor(labels[:, t], labels[:, p], scene, 1) - backdoor(labels[:, t], labels[:, p], scene, 0)
    assert abs(dowhy - ours) < 0.01 and abs(ours) < 0.02


@pytest.mark.parametrize("call, error, match", [
    (lambda: conditional_matrix([[0, 2], [1, 0]]), ValueError, "only 0 and 1"),
    (lambda: conditional_matrix([1, 0, 1]), ValueError, "2-D"),
    (lambda: conditional_matrix(np.zeros((0, 3))), ValueError, "at least one image"),
    (lambda: interventional_matrix("labels"), ValueError, "2-D"),
    (lambda: conditional([[0, 1], [0, 1]], 1, 0), ValueError, "never occurs"),
    (lambda: interventional([[0, 1, 1], [0, 1, 0]], 1, 0), ValueError, "never occurs"),
    (lambda: interventional([[1, 1, 0], [1, 0, 0]], 1, 0), ValueError, "no stratum"),
    (lambda: conditional(load_coco_labels("val2017"), "hair dryer", "sink"), ValueError, "did you mean 'hair drier'"),
    (lambda: conditional(load_coco_labels("val2017"), "sink", 80), ValueError, r"x index must be in \[0, 80\)"),
    (lambda: conditional([[1, 1], [1, 0]], "a", 0), ValueError, "no class names"),
    (lambda: class_index(1.5, None, 3), TypeError, "class index or name"),
    (lambda: backdoor([1, 0], [1, 0], [0]), ValueError, "same length"),
    (lambda: backdoor([1, 2], [1, 0], [0, 0]), ValueError, "x must hold only 0 and 1"),
    (lambda: backdoor([], [], []), ValueError, "empty"),
    (lambda: backdoor_matrix([[1, 0], [0, 1]], [0]), ValueError, "one entry per image"),
    (lambda: make_scene_world(positivity_floor=1.5), ValueError, "positivity_floor"),
    (lambda: make_scene_world(scene_prior=(0.5, 0.5, 0.5, 0.5)), ValueError, "scene_prior"),
    (lambda: make_scene_world().p_y("toaster"), ValueError, "unknown class name 'toaster'"),
    (lambda: select_photos(np.ones((2, 2)), 0, 1, keep_both=2.0), ValueError, "keep_both"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
