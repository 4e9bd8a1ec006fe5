"""Chapter 2's measurements and claim rows: the talk's numbers from real COCO labels, intervals over images, the
scene world with and without selection, and the NWGM error; the verdicts follow from the intervals."""

from __future__ import annotations

import numpy as np
import pytest

from causal_lessons.claims import FAILS, HOLDS, PARTLY, Interval
from causal_lessons.confounders.claims import ConfounderResults, claims, measure, measure_settings


@pytest.fixture(scope="module")
def res() -> ConfounderResults:
    return measure()


def test_the_talks_pairs_are_counted_exactly(res):
    sink, person = res.pairs[("sink", "hair drier")], res.pairs[("person", "toilet")]
    assert (sink.n_xy, sink.n_x) == (72, 128) and sink.association == 72 / 128
    assert (person.n_xy, person.n_x) == (277, 2317)
    assert round(sink.adjusted, 4) == 0.3985 and round(person.adjusted, 4) == 0.2901


def test_bootstrap_intervals_over_images(res):
    sink, person = res.pairs[("sink", "hair drier")], res.pairs[("person", "toilet")]
    assert sink.adjusted_ci.method == f"bootstrap, {measure_settings()['n_resamples']:,} resamples"
    # The figures: P(sink | do(hair drier)) about [0.29, 0.52], overlapping the association's interval.
    assert sink.adjusted_ci.low == pytest.approx(0.29, abs=0.03)
    assert sink.adjusted_ci.high == pytest.approx(0.51, abs=0.03)
    assert sink.adjusted_ci.high > sink.association_ci.low
    # ... while the paired difference lies below 0, and the toilet's ratio interval straddles 2.5.
    assert sink.difference_ci.high < 0 < person.difference_ci.low
    assert person.ratio_ci.low < 2.5 < person.ratio_ci.high < 3.5
    for pair in res.pairs.values():
        for interval in (pair.association_ci, pair.adjusted_ci, pair.difference_ci, pair.ratio_ci):
            assert interval.low < interval.value < interval.high


def test_skipped_strata_are_counted(res):
    sink = res.pairs[("sink", "hair drier")]
    assert sink.n_skipped + len(sink.strata) == 78
    # 44 of the 78 strata never occur with a hair drier; they hold about a third of the prior mass.
    assert sink.n_skipped == 44 and 0.3 < sink.skipped_share < 0.4


def test_scene_world_numbers(res):
    scene = res.scene
    assert scene.replicates >= 3
    # Object strata remove about 30% of the association's error; the scene removes nearly all of it.
    assert scene.removed["object strata"].high < 0.4 and scene.removed["scene adjustment"].low > 0.95
    assert scene.mean_error["scene adjustment"].high < 0.005
    # Selection: the figures, about 0.04 against a truth of 0.54.
    assert scene.selection_truth == pytest.approx(0.5375)
    assert scene.selection["object strata"].value == pytest.approx(0.04, abs=0.01)
    assert scene.selection["scene adjustment"].high < scene.selection_truth - 0.3
    assert "positivity fails" in scene.positivity_message and "toilet" in scene.undefined_rows
    assert abs(scene.dowhy) < 0.02 and abs(scene.package_effect) < 0.02 and scene.naive_effect < -0.3


def test_nwgm_error_is_measured_and_grows_with_training(res):
    nw = res.nwgm
    random, trained = nw.errors["random"], nw.errors["trained"]
    assert 0.005 < random["nwgm"].mean() < 0.05 and random["nwgm"].max() < 0.1
    assert trained["nwgm"].mean() > 0.2 and trained["attention"].mean() > trained["nwgm"].mean() - 0.1
    assert np.all(random["nwgm"] >= 0) and np.all(trained["attention"] <= 1)
    assert nw.weight_sum["trained"].max() < 0.2  # VC R-CNN's weights sum far below 1
    assert nw.accuracy > 0.8
    assert nw.mean_ci["nwgm"].low < trained["nwgm"].mean() < nw.mean_ci["nwgm"].high


def test_verdicts_follow_from_the_intervals(res):
    rows = claims(res)
    assert [r.verdict for r in rows] == [PARTLY, FAILS, HOLDS, PARTLY, FAILS, FAILS, FAILS]
    assert "0.3985" in rows[1].measured and "0.39 +- 0.005" in rows[1].rule
    assert "2.43 (95% CI" in rows[3].measured and "3 +- 0.5" in rows[3].rule
    assert "toy proxy" in rows[4].measured and "toy proxy" in rows[6].measured
    assert all(r.chapter == "confounders" for r in rows)


def test_claims_reject_other_results():
    with pytest.raises(TypeError, match="results must be ConfounderResults"):
        claims(Interval.exact(1.0))
