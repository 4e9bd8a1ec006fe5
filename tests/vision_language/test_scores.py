"""Scores, EqSim and ProGrad against hand computations; the bag-of-words tie, proved on the page, checked here."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.vision_language.contrastive import pair_similarities, tokenizer, toy_clip
from causal_lessons.vision_language.encoders import BagOfWords, text_encoder
from causal_lessons.vision_language.prompts import harmonic_mean, prograd_gradient, prompt_tuning
from causal_lessons.vision_language.scenes import World, swap_pairs
from causal_lessons.vision_language.scores import chance_scores, eqsim_loss, eqsim_terms, winoground_scores

# s[n, c, i]: caption c against image i.
TABLE = np.array([
    [[0.9, 0.2], [0.1, 0.8]],   # all correct
    [[0.5, 0.6], [0.1, 0.8]],   # text correct (0.5 > 0.1, 0.8 > 0.6), image wrong (0.5 < 0.6)
    [[0.5, 0.1], [0.7, 0.8]],   # image correct (0.5 > 0.1, 0.8 > 0.7), text wrong (0.5 < 0.7)
    [[0.4, 0.4], [0.1, 0.9]],   # a tie between images for caption 0: image wrong; text correct
    [[0.3, 0.3], [0.3, 0.3]],   # all tied: all wrong
])


def test_winoground_scores_match_the_hand_count():
    # text: pairs 0, 1, 3; image: pairs 0, 2; group: pair 0.
    assert winoground_scores(TABLE) == {"text": 3 / 5, "image": 2 / 5, "group": 1 / 5}


def test_ties_are_wrong_and_the_paper_numbers_score_as_read():
    assert winoground_scores(np.full((1, 2, 2), 0.5)) == {"text": 0.0, "image": 0.0, "group": 0.0}
    fiber = [[[3.79, 2.35], [3.83, 4.16]]]   # s(T1,I1), s(T1,I2) / s(T2,I1), s(T2,I2)
    assert winoground_scores(fiber) == {"text": 0.0, "image": 1.0, "group": 0.0}
    assert winoground_scores([[[2.51, 2.28], [2.29, 2.45]]]) == {"text": 1.0, "image": 1.0, "group": 1.0}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.floats(-1, 1, allow_nan=False)] * 4), min_size=1, max_size=20))
def test_scores_agree_with_a_plain_loop_on_any_table(rows):
    s = np.array(rows).reshape(-1, 2, 2)
    text = [a[0, 0] > a[1, 0] and a[1, 1] > a[0, 1] for a in s]
    image = [a[0, 0] > a[0, 1] and a[1, 1] > a[1, 0] for a in s]
    got = winoground_scores(s)
    assert got["text"] == pytest.approx(np.mean(text)) and got["image"] == pytest.approx(np.mean(image))
    assert got["group"] == pytest.approx(np.mean([t and i for t, i in zip(text, image)]))
    assert got["group"] <= min(got["text"], got["image"])


def test_random_similarities_score_the_chance_levels():
    s = np.random.default_rng(0).normal(size=(200_000, 2, 2))
    got, chance = winoground_scores(s), chance_scores()
    for key in got:
        assert got[key] == pytest.approx(chance[key], abs=0.004)


def test_scores_accept_every_array_form():
    expected = winoground_scores(TABLE)
    assert winoground_scores(TABLE.tolist()) == expected
    assert winoground_scores(torch.tensor(TABLE, dtype=torch.float32)) == expected


def test_eqsim_matches_the_hand_computation_with_and_without_margin():
    s = np.array([[[3.79, 2.35], [3.83, 4.16]], [[2.51, 2.28], [2.29, 2.45]]])
    text = [((3.79 - 3.83) - (4.16 - 2.35)) ** 2, ((2.51 - 2.29) - (2.45 - 2.28)) ** 2]
    image = [((3.79 - 2.35) - (4.16 - 3.83)) ** 2, ((2.51 - 2.28) - (2.45 - 2.29)) ** 2]
    t, i = eqsim_terms(s)
    assert t.tolist() == pytest.approx(text) and i.tolist() == pytest.approx(image)
    assert float(eqsim_loss(s)) == pytest.approx((sum(text) + sum(image)) / 2)
    margin = 1.5
    clamp = lambda v: max(0.0, v - margin)  # noqa: E731
    assert float(eqsim_loss(s, margin)) == pytest.approx(sum(map(clamp, text + image)) / 2)
    # The margin is subtracted from the squared gap, then clamped: a gap of 0.05^2 is well inside a margin of 0.01.
    assert eqsim_terms(s, 0.01)[0][1] == 0


def test_eqsim_gradient_is_the_analytic_one():
    s = torch.tensor([[[0.9, 0.2], [0.4, 0.5]]], dtype=torch.float64, requires_grad=True)
    eqsim_loss(s).backward()
    d_text = (0.9 - 0.4) - (0.5 - 0.2)
    d_image = (0.9 - 0.2) - (0.5 - 0.4)
    # d/ds of (s00 - s10 - s11 + s01)^2 and (s00 - s01 - s11 + s10)^2
    expected = torch.tensor([[[2 * d_text + 2 * d_image, 2 * d_text - 2 * d_image],
                              [-2 * d_text + 2 * d_image, -2 * d_text - 2 * d_image]]], dtype=torch.float64)
    assert torch.allclose(s.grad, expected)
    assert torch.autograd.gradcheck(lambda x: eqsim_loss(x, 0.01), (s.detach().clone().requires_grad_(),))


def test_eqsim_text_side_vanishes_when_both_images_change_equally():
    # Text side: 0.7 - 0.3 = 0.4 = 0.6 - 0.2. Image side: 0.7 - 0.2 = 0.5 but 0.6 - 0.3 = 0.3.
    s = torch.tensor([[[0.7, 0.2], [0.3, 0.6]]], dtype=torch.float64)
    t, i = eqsim_terms(s)
    assert float(t[0]) == pytest.approx(0.0, abs=1e-12)
    assert float(i[0]) == pytest.approx((0.5 - 0.3) ** 2)


def test_prograd_cases():
    g = torch.tensor([1.0, 2.0, -1.0])
    general = torch.tensor([-1.0, 0.0, 1.0])  # <g, general> = -2: a conflict
    out = prograd_gradient(g, general)
    assert torch.allclose(out, g - (-2.0) / 2.0 * general)
    assert float(out @ general) == pytest.approx(0.0, abs=1e-6)  # lam = 1: orthogonal to the general direction
    half = prograd_gradient(g, general, lam=0.5)
    assert torch.allclose(half, g + 0.5 * general)
    assert prograd_gradient(g, -general) is g  # agreement: unchanged
    assert torch.equal(prograd_gradient(g, torch.tensor([2.0, -1.0, 0.0])), g)  # orthogonal: unchanged
    zero = prograd_gradient(g, torch.zeros(3))
    assert torch.equal(zero, g) and torch.isfinite(zero).all()


def test_prograd_works_on_matrices_and_rejects_shape_mismatch():
    g, general = torch.ones(2, 3), -torch.eye(2, 3)
    out = prograd_gradient(g, general)
    assert out.shape == (2, 3) and float((out * general).sum()) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        prograd_gradient(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="lam"):
        prograd_gradient(g, general, lam=-1.0)


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e-3, 1.0, 1e20, 1e30])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_prograd_depends_only_on_the_direction_of_the_general_gradient(scale, dtype):
    """A tiny general gradient gave [-inf, nan] (its squared norm underflowed to 0 in float32; issue 20), a huge
    one overflowed to inf: the projection depends only on the direction."""
    g = torch.tensor([1.0, 2.0, -1.0], dtype=dtype)
    general = torch.tensor([-1.0, 0.0, 1.0], dtype=dtype)
    out = prograd_gradient(g, general * scale)
    assert out.dtype == dtype and torch.isfinite(out).all()
    assert torch.allclose(out, torch.tensor([0.0, 2.0, 0.0], dtype=dtype), atol=1e-6)  # g + general, as above
    assert prograd_gradient(torch.tensor([1.0, 1.0]), torch.tensor([-1e-30, 0.0])).tolist() == [0.0, 1.0]


def test_coop_and_prograd_take_the_same_first_step(monkeypatch):
    """At the first step the prompt is the hand-written one: the general gradient is round-off and counts as zero
    (no projection at all), so ProGrad's first step is CoOp's (issue 19, round 3, item 4)."""
    from causal_lessons.vision_language import prompts

    projected = []
    monkeypatch.setattr(prompts, "prograd_gradient", lambda *args, **kw: projected.append(args) or args[0])
    w = World()
    table = prompt_tuning(toy_clip(w, "order_aware"), w, epochs=1, shots=2, test_per_class=4, eval_every=1)
    assert projected == []
    first = table[table.epoch == 1].set_index("method")[["base", "new"]]
    assert first.loc["CoOp"].tolist() == first.loc["ProGrad"].tolist()


def test_bag_of_words_ties_every_word_order_exactly():
    enc = text_encoder("bag_of_words", 20)
    assert isinstance(enc, BagOfWords)
    words = torch.tensor([3, 7, 7, 1, 12, 5, 9, 2])
    outs = [enc(words[list(p)][None], torch.tensor([8])) for p in itertools.islice(
        itertools.permutations(range(8)), 0, 40_000, 997)]
    assert all(torch.equal(o, outs[0]) for o in outs)


def test_bag_of_words_scores_exactly_zero_on_swap_pairs_trained_or_not():
    w = World()
    pairs = swap_pairs(w, 6, np.random.default_rng(0))
    model = toy_clip(w, "bag_of_words", seed=3)
    s = pair_similarities(model, pairs, w)
    assert torch.equal(s[:, 0], s[:, 1])  # caption 0 and caption 1 tie against every image
    assert winoground_scores(s) == {"text": 0.0, "image": 0.0, "group": 0.0}
    # Every pair really is a word-order swap.
    tok = tokenizer(w)
    for c0, c1 in pairs.captions:
        assert sorted(tok.encode([c0])[0][0].tolist()) == sorted(tok.encode([c1])[0][0].tolist()) and c0 != c1


def test_harmonic_mean():
    assert harmonic_mean(0.8, 0.4) == pytest.approx(2 * 0.8 * 0.4 / 1.2)
    assert harmonic_mean([1.0, 0.0], [1.0, 0.5]).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="base"):
        harmonic_mean(1.2, 0.5)


def test_harmonic_mean_pairs_pandas_objects_by_label():
    """Two Series or data frames pair up by label, not by position (issue 20: reordered rows gave the wrong H)."""
    base = pd.Series({"zero-shot": 0.7, "CoOp": 0.9, "ProGrad": 0.8})
    new = pd.Series({"ProGrad": 0.6, "CoOp": 0.3, "zero-shot": 0.7})
    expected = pd.Series({m: 2 * base[m] * new[m] / (base[m] + new[m]) for m in base.index})
    for shuffled in (new, new.iloc[::-1], new.sort_values()):
        pd.testing.assert_series_equal(harmonic_mean(base, shuffled), expected)
    table = pd.DataFrame({"base": base, "new": new.reindex(base.index)})
    wide_base, wide_new = table[["base"]].T.reset_index(drop=True), table[["new"]].T.reset_index(drop=True)
    h = harmonic_mean(wide_base, wide_new[wide_new.columns[::-1]])
    assert list(h.columns) == list(base.index) and np.allclose(h.iloc[0], expected)
    # With a number or an unlabelled array of its shape, a Series keeps its labels (position, as pandas does).
    pd.testing.assert_series_equal(harmonic_mean(base, 0.5), 2 * base * 0.5 / (base + 0.5))
    pd.testing.assert_series_equal(harmonic_mean(base.to_numpy(), new.reindex(base.index)), expected)


def test_complex_similarities_are_refused_not_cast():
    """np.asarray(s, dtype=float) dropped the imaginary part, with only a warning (issue 20)."""
    s = TABLE.astype(complex)
    s[0, 0, 1] += 2j
    for bad in (s, s.tolist(), torch.tensor(s)):
        for score in (winoground_scores, eqsim_loss, eqsim_terms):
            with pytest.raises(TypeError, match="s must hold real numbers"):
                score(bad)
    with pytest.raises(TypeError, match="base must hold real numbers"):
        harmonic_mean(0.5 + 0.1j, 0.5)
