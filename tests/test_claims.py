"""The claim machinery: intervals, verdict rules, rows, the table and the per-build cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons import claims as C


@settings(max_examples=200, deadline=None)
@given(value=st.floats(-5, 5), half=st.floats(0, 3), threshold=st.floats(-5, 5))
def test_above_and_below_follow_the_interval(value, half, threshold):
    est = C.Interval(value, value - half, value + half)
    up, down = C.above(est, threshold, "x").verdict, C.below(est, threshold, "x").verdict
    if value - half > threshold:
        assert up == C.HOLDS
    elif value + half <= threshold:
        assert up == C.FAILS
    else:
        assert up == C.INCONCLUSIVE
    # An interval strictly on one side decides both rules, in opposite directions.
    if up == C.HOLDS:
        assert down == C.FAILS
    if down == C.HOLDS:
        assert up == C.FAILS


def test_a_straddling_interval_is_inconclusive_whatever_the_point_estimate():
    assert C.above(C.Interval(0.6, 0.25, 0.82), 0.3, "partial r").verdict == C.INCONCLUSIVE
    assert C.below(C.Interval(0.6, 0.25, 0.82), 0.3, "partial r").verdict == C.INCONCLUSIVE


def test_within_a_published_number():
    assert C.within(C.Interval.exact(0.3985), 0.39, 0.01, "p").verdict == C.HOLDS
    assert C.within(C.Interval.exact(0.41), 0.39, 0.01, "p").verdict == C.FAILS
    assert C.within(C.Interval(0.40, 0.29, 0.52), 0.39, 0.01, "p").verdict == C.INCONCLUSIVE


def test_combine_rules():
    H, P, F, U = C.HOLDS, C.PARTLY, C.FAILS, C.INCONCLUSIVE
    assert [C.combine(v) for v in ([H], [H, H], [H, F], [H, U], [F, U], [F, F], [U, U], [P, H])] == \
        [H, H, P, P, F, F, U, P]


def test_over_seeds_matches_the_t_interval():
    ci = C.over_seeds([1.0, 2.0, 3.0])
    # mean 2, sd 1, t_{0.975, 2} = 4.3027
    assert ci.value == 2.0 and ci.high - 2.0 == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)


def test_bootstrap_interval_covers_a_known_mean():
    x = np.random.default_rng(1).normal(3.0, 1.0, size=500)
    ci = C.bootstrap(lambda idx: float(x[idx].mean()), len(x), n_resamples=1_000)
    assert ci.low < 3.0 < ci.high
    assert ci.high - ci.low == pytest.approx(2 * 1.96 / np.sqrt(500), rel=0.2)


def test_proportion_wilson_interval():
    ci = C.proportion(0, 20)
    assert ci.value == 0 and ci.low == 0 and ci.high == pytest.approx(0.1611, abs=1e-4)


def test_make_claim_joins_findings_and_table_has_the_rule():
    row = C.make_claim("x", "claim", [C.above(C.Interval(1, 0.5, 1.5), 0, "a"),
                                      C.below(C.Interval(1, 0.5, 1.5), 0, "b")], "setting", source=C.talk("T3"))
    assert row.verdict == C.PARTLY and row.measured.startswith("setting: a = ")
    table = C.claims_table([row])
    assert list(table.columns) == ["chapter", "source", "claim", "measured", "rule", "verdict"]
    assert table["source"][0].startswith("the talk, T3: 共生不等于因果")


def test_every_talk_claim_is_a_source_with_its_words():
    from causal_lessons.datasets import load_talk_claims

    talk = load_talk_claims()
    assert list(talk["id"]) == [f"T{i}" for i in range(1, 28)]
    for row in talk.itertuples():
        source = C.talk(row.id)
        assert row.original in source.quote and row.english in source.quote


def test_sources_of_papers_and_questions_are_named():
    assert C.paper("Arjovsky et al. 2019").text() == "paper: Arjovsky et al. 2019"
    assert C.course("is it so?").text() == "the course asks: is it so?"


@pytest.mark.parametrize("call, error, match", [
    (lambda: C.Interval(float("nan"), 0, 1), ValueError, "value"),
    (lambda: C.Interval(2, 0, 1), ValueError, "low <= value <= high"),
    (lambda: C.above(0.5, 0.3, "x"), TypeError, "estimate must be an Interval"),
    (lambda: C.above(C.Interval.exact(1), 0, ""), ValueError, "what"),
    (lambda: C.within(C.Interval.exact(1), 1, 0, "x"), ValueError, "tolerance"),
    (lambda: C.combine([]), ValueError, "verdicts"),
    (lambda: C.combine(["maybe"]), ValueError, "unknown verdicts"),
    (lambda: C.Claim("x", "c", "m", "r", "true", C.course("q")), ValueError, "verdict"),
    (lambda: C.Claim("x", "c", "m", "r", C.HOLDS, "the talk"), TypeError, "source must be a Source"),
    (lambda: C.make_claim("x", "c", [], source=C.course("q")), ValueError, "findings"),
    (lambda: C.talk("T0"), ValueError, "claim_id"),
    (lambda: C.talk(19), ValueError, "claim_id"),
    (lambda: C.Source("blog", "x"), ValueError, "kind"),
    (lambda: C.paper(""), ValueError, "citation"),
    (lambda: C.Source("paper", "  "), ValueError, "reference"),
    (lambda: C.claims_table([]), ValueError, "claims must not be empty"),
    (lambda: C.over_seeds([1.0]), ValueError, "values"),
    (lambda: C.over_seeds([1.0, float("nan")]), ValueError, "values"),
    (lambda: C.proportion(3, 2), ValueError, "successes"),
    (lambda: C.proportion(1.0, 2), TypeError, "successes"),
    (lambda: C.bootstrap(lambda i: 0.0, 1), ValueError, "n_rows"),
    (lambda: C.bootstrap(lambda i: float("nan"), 10), ValueError, "finite"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_cache_computes_once_per_key_and_is_off_by_default(tmp_path, monkeypatch):
    calls = []

    @C.cached
    def work(x):
        calls.append(x)
        return x + 1

    monkeypatch.delenv(C.CACHE_ENV, raising=False)
    assert work(1) == 2 and work(1) == 2 and calls == [1, 1]
    monkeypatch.setenv(C.CACHE_ENV, str(tmp_path))
    calls.clear()
    assert work(1) == 2 and work(1) == 2 and work(2) == 3 and calls == [1, 2]
    monkeypatch.setenv("CAUSAL_LESSONS_QUICK", "smoke")  # another size is another key
    assert work(1) == 2 and calls == [1, 2, 1]


@pytest.mark.parametrize("evidence", ["Fig 1", "#fig-x", "fig_x", 3])
def test_evidence_must_be_a_label(evidence):
    with pytest.raises(ValueError, match="evidence"):
        C.Claim("x", "c", "m", "r", C.HOLDS, C.course("q"), evidence=evidence)


def test_cards_link_each_row_to_its_evidence():
    row = C.make_claim("context", "c", [C.above(C.Interval(0.8, 0.7, 0.9), 0.5, "a")],
                            source=C.course("q"), evidence="fig-context-curves")
    bare = C.make_claim("context", "c", [C.above(C.Interval(0.8, 0.7, 0.9), 0.5, "a")],
                             source=C.course("q"))
    assert 'href="#fig-context-curves"' in C.cards([row])
    assert "href" not in C.cards([bare])
    assert 'href="../context/index.html"' in C.cards([bare], page="../{chapter}/index.html")
    with pytest.raises(ValueError, match="page"):
        C.cards([row], page="../index.html")


@pytest.mark.parametrize("verdict", [C.HOLDS, C.FAILS, C.INCONCLUSIVE])
def test_a_finding_whose_condition_fails_decides_nothing(verdict):
    finding = C.Finding("gap = -0.13", "gap within 0.02 of 0", verdict)
    assert C.provided(finding, True, "trained to a plateau") is finding
    kept = C.provided(finding, False, "still improving")
    assert kept.verdict == C.INCONCLUSIVE and "still improving" in kept.measured and "gap = -0.13" in kept.measured
