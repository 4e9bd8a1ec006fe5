"""Token statistics: known answers on synthetic sources, the Zipf line through the data, entropy from tokens and
from counts, and the order gap's models against hand-written ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.datasets import load_text
from causal_lessons.tokenization.token_stats import (
    BETAS,
    bigram_cross_entropy,
    order_gap,
    rank_frequency,
    unigram_entropy,
    zipf_fit,
    zipf_mle,
    zipf_slope,
)
from causal_lessons.tokenization.tokenizers import UNK, word_tokens, words_to_ids


@pytest.fixture(scope="module")
def words():
    return word_tokens(load_text("alice"))


@pytest.fixture(scope="module")
def alice(words):
    return words_to_ids(words)


def test_exact_zipfian_sample_recovers_its_slope_and_constant():
    for s in (0.8, 1.0, 1.3):
        counts = np.floor(200_000 / np.arange(1, 301) ** s).astype(int)
        slope, intercept = zipf_fit(np.repeat(np.arange(300), counts), ranks=(1, 300))
        assert abs(slope + s) < 0.05
        assert np.exp(intercept) == pytest.approx(200_000, rel=0.05)


@pytest.mark.parametrize("s", [0.7, 1.0, 1.4])
def test_maximum_likelihood_recovers_the_exponent_of_a_truncated_zipf_sample(s):
    p = np.arange(1, 101) ** -s
    tokens = np.random.default_rng(1).choice(100, size=100_000, p=p / p.sum())
    assert zipf_mle(tokens) == pytest.approx(-s, abs=0.02)


def test_least_squares_and_maximum_likelihood_disagree_on_alice(alice):
    """The method error the chapter reports: least squares over ranks 1-1000 against maximum likelihood."""
    ids, _ = alice
    assert round(zipf_mle(ids), 2) == -0.95
    assert abs(zipf_slope(ids, ranks=(1, 1000)) - zipf_mle(ids)) > 0.1
    with pytest.raises(ValueError, match="two distinct"):
        zipf_mle([3, 3, 3])


def test_random_zipfian_sample_recovers_slope_on_head_ranks():
    rng = np.random.default_rng(0)
    p = 1 / np.arange(1, 501)
    tokens = rng.choice(500, size=500_000, p=p / p.sum())
    assert abs(zipf_slope(tokens, ranks=(1, 100)) + 1.0) < 0.05


def test_the_zipf_line_runs_through_the_data_it_fits(alice):
    """The chapter's figure draws exp(a) r^s: least squares puts it through the mean of the log points, so the
    log residuals average zero. The earlier figure drew f_1 r^s, which sits below the data."""
    ids, _ = alice
    slope, intercept = zipf_fit(ids, ranks=(1, 1000))
    freq = rank_frequency(ids)[:1000]
    log_r = np.log(np.arange(1, 1001))
    residuals = np.log(freq) - (intercept + slope * log_r)
    assert abs(residuals.mean()) < 1e-10
    old_line = np.log(freq[0]) + slope * log_r
    assert (np.log(freq) - old_line).mean() > 0.3  # the old line lay well below the points


def test_alice_statistics(alice):
    ids, vocab = alice
    assert (len(ids), len(vocab)) == (26_693, 2_632)  # the counts in the data's SOURCES.md
    assert round(zipf_slope(ids, ranks=(1, 1000)), 2) == -1.09
    assert round(zipf_slope(ids, ranks=(1, 100)), 2) == -0.84  # the head is flatter


@given(k=st.integers(1, 300))
def test_uniform_source_has_entropy_log2_k(k):
    assert unigram_entropy(np.arange(k).repeat(3)) == pytest.approx(np.log2(k), abs=1e-12)


@given(counts=st.lists(st.integers(0, 50), min_size=1, max_size=20).filter(lambda c: sum(c) > 0))
def test_entropy_from_counts_equals_entropy_of_the_tokens_they_count(counts):
    tokens = np.repeat(np.arange(len(counts)), counts)
    assert unigram_entropy(counts=counts) == pytest.approx(unigram_entropy(tokens), abs=1e-12)


def test_counts_are_not_tokens(alice):
    assert unigram_entropy(counts=[4, 2, 1, 1]) == 1.75
    # A count vector passed as tokens was read as a token sequence ([4, 2, 1, 1]: 1.5 bits; issue 20): counts sorted
    # by frequency never increase, which a token sequence hardly ever does.
    ids, _ = alice
    for counts in ([4, 2, 1, 1], np.bincount(ids), rank_frequency(ids)):
        with pytest.raises(ValueError, match="tokens never increase.*pass counts="):
            unigram_entropy(counts)
    assert unigram_entropy(counts=np.bincount(ids)) == pytest.approx(unigram_entropy(ids), abs=1e-12)
    # Sorted tokens: the same entropy from their counts; tokens in increasing order and constant ones still pass.
    assert unigram_entropy(counts=np.bincount([4, 2, 1, 1])) == 1.5  # four tokens of three types
    assert unigram_entropy([1, 1, 2, 4]) == 1.5 and unigram_entropy([3, 3, 3]) == 0.0
    with pytest.raises(TypeError, match="exactly one of tokens"):
        unigram_entropy([0, 1], counts=[1, 1])
    with pytest.raises(TypeError, match="exactly one of tokens"):
        unigram_entropy()


def test_capped_vocabulary_keeps_the_frequent_words_and_pools_the_rest(words, alice):
    ids, vocab = alice
    capped, small = words_to_ids(words, vocab_size=64)
    assert len(small) == 64 and small[-1] == UNK and small[:63] == vocab[:63]
    assert np.array_equal(capped[ids < 63], ids[ids < 63])
    assert np.all(capped[ids >= 63] == 63)
    assert words_to_ids(["a", "b"], vocab_size=5)[1] == ["a", "b"]  # no cap needed, no UNK


def _hand_bigram(train, test, k, alpha, beta):
    counts, pairs = np.zeros(k), np.zeros((k, k))
    for s in train:
        for t in s:
            counts[t] += 1
        for a, b in zip(s[:-1], s[1:]):
            pairs[a, b] += 1
    p = (counts + alpha) / (counts.sum() + alpha * k)
    bits, n = 0.0, 0
    for s in test:
        bits -= np.log2(p[s[0]])
        for a, b in zip(s[:-1], s[1:]):
            bits -= np.log2((pairs[a, b] + beta * p[b]) / (pairs[a].sum() + beta))
        n += len(s)
    return bits / n


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(2, 6), alpha=st.floats(0.01, 5), beta=st.floats(0.01, 100))
def test_bigram_cross_entropy_is_its_definition(seed, k, alpha, beta):
    rng = np.random.default_rng(seed)
    train = [rng.integers(0, k, rng.integers(2, 12)) for _ in range(5)]
    test = [rng.integers(0, k, rng.integers(1, 12)) for _ in range(3)]
    assert bigram_cross_entropy(train, test, k, alpha, beta) == pytest.approx(
        _hand_bigram(train, test, k, alpha, beta), rel=1e-10)


def test_a_strong_prior_turns_the_bigram_into_the_unigram_model():
    rng = np.random.default_rng(1)
    gap = order_gap([rng.integers(0, 5, 30) for _ in range(20)], 5)
    unigram = gap.rates()["unigram"]
    assert abs(gap.ordered_curve[-1] - unigram) < 1e-3 and abs(gap.shuffled_curve[-1] - unigram) < 1e-3
    assert len(gap.ordered_curve) == len(BETAS)


def test_order_gap_iid_near_zero_markov_positive():
    rng = np.random.default_rng(1)
    iid = [rng.integers(0, 6, 300) for _ in range(60)]
    markov = []
    for _ in range(60):
        seq = [int(rng.integers(6))]
        for _ in range(299):
            seq.append(seq[-1] if rng.random() < 0.7 else int(rng.integers(6)))
        markov.append(np.array(seq))
    assert abs(order_gap(iid, 6).gap()) < 0.02
    markov_gap = order_gap(markov, 6)
    assert markov_gap.gap() > 0.8
    assert markov_gap.normalised() == pytest.approx(markov_gap.gap() / markov_gap.rates()["unigram"])


def test_order_gap_rows_resample_the_test_sequences():
    rng = np.random.default_rng(2)
    gap = order_gap([rng.integers(0, 4, 20) for _ in range(40)], 4)
    n = len(gap.lengths)
    assert n == 10  # a quarter held out for test, a quarter for validation
    assert gap.gap(np.arange(n)) == pytest.approx(gap.gap())
    assert gap.rates([0])["ordered"] == pytest.approx(gap.ordered[0] / gap.lengths[0])


def test_chosen_smoothing_keeps_the_shuffled_words_at_the_unigram_baseline(words):
    capped, _ = words_to_ids(words, vocab_size=64)
    seqs = capped[: len(capped) // 64 * 64].reshape(-1, 64)
    gap = order_gap(list(seqs), 64)
    rates = gap.rates()
    assert rates["ordered"] < rates["unigram"] - 0.3  # order helps words
    assert rates["shuffled"] <= rates["unigram"] + 0.01  # the validated prior does not overfit
    assert gap.shuffled_curve[0] > rates["unigram"] + 0.1  # a small prior fixed by hand does
