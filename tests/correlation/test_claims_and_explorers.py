"""Chapter 1's claim rows: the numbers measured on the real data, the intervals the verdicts rest on, and the
rules that turn them into verdicts; plus the explorer figures."""

from __future__ import annotations

import numpy as np
import pytest

from causal_lessons.claims import FAILS, HOLDS, INCONCLUSIVE, below
from causal_lessons.correlation import claims as chapter
from causal_lessons.correlation.estimation import partial_correlation
from causal_lessons.correlation.explorers import confounding_grid, confounding_panel
from causal_lessons.datasets import load_chocolate_nobel

DOCUMENTED, OTHER = chapter.GDP_COLUMNS


@pytest.fixture(scope="module")
def results():
    return chapter.measure()


def test_verdicts_follow_the_intervals(results):
    rows = chapter.claims(results)
    assert [c.verdict for c in rows] == [HOLDS, FAILS, FAILS, FAILS]
    assert all(c.chapter == "correlation" and c.rule for c in rows)


def test_messerli_r_and_its_interval(results):
    row = chapter.claims(results)[0]
    assert round(results.r.r, 4) == 0.7911 and results.n == 23
    assert "r = 0.7911 (computed from the table)" in row.measured
    # the Fisher interval is 0.35 wide, so the formatter writes it to two decimals
    assert "r = 0.79 (95% CI 0.56 to 0.91)" in row.measured


def test_partial_correlations_given_gdp_against_the_threshold(results):
    # the known values (SOURCES.md of the data) and Fisher's intervals quoted in issue 11
    assert results.partial[DOCUMENTED].value == pytest.approx(0.6717, abs=1e-4)
    assert results.partial[OTHER].value == pytest.approx(0.6042, abs=1e-4)
    fisher = results.partial_fisher
    assert (round(fisher[DOCUMENTED].ci_low, 2), round(fisher[DOCUMENTED].ci_high, 2)) == (0.35, 0.85)
    assert (round(fisher[OTHER].ci_low, 2), round(fisher[OTHER].ci_high, 2)) == (0.25, 0.82)
    # bootstrap: the documented column's interval lies above 0.3, the other one straddles it
    assert results.partial[DOCUMENTED].low > chapter.PARTIAL_THRESHOLD
    assert results.partial[OTHER].low < chapter.PARTIAL_THRESHOLD < results.partial[OTHER].high
    verdicts = [below(results.partial[g], chapter.PARTIAL_THRESHOLD, "r").verdict for g in (DOCUMENTED, OTHER)]
    assert verdicts == [FAILS, INCONCLUSIVE]
    row = chapter.claims(results)[1]
    assert "percentile bootstrap over countries" in row.measured and "crude" in row.measured
    assert "the documented (Gapminder) column decides" in row.measured
    assert "robustness check (inconclusive: its interval runs from 0.2" in row.measured
    assert "partial r given GDP per head, Gapminder 2007 = 0.67 (95% CI 0.41 to 0.90)" in row.measured


def test_fast_bootstrap_statistic_is_the_partial_correlation():
    df = load_chocolate_nobel()
    for gdp in chapter.GDP_COLUMNS:
        columns = df[[chapter.CHOCOLATE, chapter.NOBEL, gdp]].to_numpy()
        idx = np.random.default_rng(1).integers(0, len(df), len(df))
        assert chapter._partial_r(columns[idx]) == pytest.approx(
            partial_correlation(df.iloc[idx], chapter.CHOCOLATE, chapter.NOBEL, [gdp]), abs=1e-12)


def test_pc_on_the_real_data_keeps_only_chocolate_nobel(results):
    real = results.pc_real.set_index(["GDP column", "alpha"])["edges PC keeps"]
    assert real[(chapter.GDP_COLUMNS[DOCUMENTED], chapter.ALPHA)] == "C - N"
    assert real[(chapter.GDP_COLUMNS[OTHER], chapter.ALPHA)] == "C - N"
    decisions = results.pc_tests.set_index("test")[f"PC at alpha = {chapter.ALPHA:g}"]
    assert decisions["C ⊥ N | G"] == "keep"
    assert decisions["C ⊥ G | N"] == decisions["G ⊥ N | C"] == "remove edge"


def test_pc_power_at_23_countries_is_low_and_the_row_says_what_pc_answers(results):
    weak = results.power("fork with the real GDP correlations", 23)
    assert weak.high < 0.8  # so dropping the GDP edges on 23 countries says little
    assert results.power("fork with the real GDP correlations", 200).low > 0.8
    assert results.power("fork strong enough for r = 0.791", 23).value > weak.value
    row = chapter.claims(results)[2]
    assert "PC recovers the fork's skeleton" in row.claim and "(it keeps: C - N)" in row.measured
    assert "would not prove the fork" in row.measured
    with pytest.raises(ValueError, match="no power measured"):
        results.power("no such world", 23)


def test_null_worlds_built_for_messerli_r_reach_it_half_the_time_and_real_gdp_forks_rarely(results):
    assert len(results.null_r) == len(results.null_r_real) == 20_000
    # a fork built to have population r = 0.791 reaches it about half the time, by construction
    assert 0.4 < np.mean(results.null_r >= results.r.r) < 0.6
    # a fork with the real GDP correlations (implied r = 0.61 * 0.60 = 0.36) almost never does: the reviewer's
    # 0.14% from 200,000 worlds, Fisher z 3.1 standard errors
    assert np.mean(results.null_r_real >= results.r.r) < 0.005
    assert np.median(results.null_r_real) == pytest.approx(np.prod(results.gdp_r[DOCUMENTED]), abs=0.03)


def test_keyboard_mouse_row_names_its_proxy(results):
    table = results.coco.set_index("images")
    assert table.loc["all images", "n"] == 117_266
    assert table.loc["all images", "n"] == table.loc["no laptop or TV", "n"] + table.loc["laptop or TV", "n"]
    rd = results.coco_rd
    assert rd["crude"].value == pytest.approx(0.6024, abs=1e-4)
    assert rd["adjusted"].value < rd["crude"].value and rd["share removed"].low > 0
    # the strata differ, so the target population matters: standardised to keyboard images, less is removed
    assert rd["share removed (keyboard images)"].value < rd["share removed"].value
    assert rd["adjusted (keyboard images)"].value == pytest.approx(
        rd["crude"].value * (1 - rd["share removed (keyboard images)"].value))
    row = chapter.claims(results)[3]
    assert "crude proxy" in row.measured and "residual confounding" in row.measured
    assert "standardised to all images" in row.measured and "> 0.5" in row.rule
    assert row.verdict == FAILS  # the proxy removes well under half of the association


def test_claims_reject_foreign_results():
    with pytest.raises(TypeError, match="results must be the CorrelationResults"):
        chapter.claims({"r": 0.79})


def test_explorer_panels_and_errors():
    fig = confounding_grid((0.0, 1.0), (0.0, 0.5), n=50)
    assert len(fig.axes) == 4 and fig.get_size_inches()[0] <= 7.0
    assert confounding_panel(4.0, 0.0, n=50).get_title() == "a² = 4, β = 0"
    with pytest.raises(ValueError, match="confounding must be >= 0"):
        confounding_panel(-1.0)
    with pytest.raises(ValueError, match="n must be at least 5"):
        confounding_panel(1.0, n=2)
