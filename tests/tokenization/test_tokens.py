"""Token statistics and tokenizers: known answers on synthetic sources, the prefix property on the shipped
images, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from causal_lessons.datasets import load_text
from causal_lessons.tokenization.tiny_gpt import TinyGPT, fill_prefix, perplexity, scan_order, train_gpt
from causal_lessons.tokenization.token_stats import bigram_cross_entropy, order_gap, rank_frequency, unigram_entropy, zipf_slope
from causal_lessons.tokenization.tokenizers import (
    CoarseToFineTokenizer, PatchTokenizer, prefix_errors, random_crops, word_tokens, words_to_ids,
)
from causal_lessons.tokenization.vqvae import VQVAE, train_vqvae


def test_exact_zipfian_sample_recovers_its_slope():
    # A sample whose rank-frequency list is exactly f_r = floor(C / r^s).
    for s in (0.8, 1.0, 1.3):
        counts = np.floor(200_000 / np.arange(1, 301) ** s).astype(int)
        tokens = np.repeat(np.arange(300), counts)
        assert abs(zipf_slope(tokens, ranks=(1, 300)) + s) < 0.05


def test_random_zipfian_sample_recovers_slope_on_head_ranks():
    rng = np.random.default_rng(0)
    p = 1 / np.arange(1, 501)
    tokens = rng.choice(500, size=500_000, p=p / p.sum())
    assert abs(zipf_slope(tokens, ranks=(1, 100)) + 1.0) < 0.05


@given(k=st.integers(1, 300))
def test_uniform_source_has_entropy_log2_k(k):
    assert unigram_entropy(np.arange(k).repeat(3)) == pytest.approx(np.log2(k), abs=1e-12)


def test_order_gap_iid_near_zero_markov_positive():
    rng = np.random.default_rng(1)
    iid = [rng.integers(0, 6, 300) for _ in range(60)]
    markov = []
    for _ in range(60):
        seq = [int(rng.integers(6))]
        for _ in range(299):
            seq.append(seq[-1] if rng.random() < 0.7 else int(rng.integers(6)))
        markov.append(np.array(seq))
    assert abs(order_gap(iid, 6)["gap"]) < 0.03
    assert order_gap(markov, 6)["gap"] > 0.8


def test_bigram_cross_entropy_of_a_deterministic_cycle_approaches_zero():
    seqs = [np.tile(np.arange(4), 50)] * 5
    # only the first token of each sequence costs bits (2, from the unigram model): 2 / 200 per token
    assert bigram_cross_entropy(seqs, seqs, 4, alpha=1e-4) < 0.02


def test_alice_statistics():
    ids, vocab = words_to_ids(word_tokens(load_text("alice")))
    assert (len(ids), len(vocab)) == (26_693, 2_632)  # the counts in the data's SOURCES.md
    assert round(zipf_slope(ids, ranks=(1, 1000)), 2) == -1.09


@pytest.fixture(scope="module")
def crops():
    return random_crops(800, 32, seed=0), random_crops(100, 32, seed=1)


def test_one_coarse_to_fine_token_beats_one_raster_token(crops):
    train, test = crops
    raster = PatchTokenizer(k=64).fit(train)
    c2f = CoarseToFineTokenizer(k=64).fit(train)
    for n in (1, 5, 21):
        assert prefix_errors(c2f, test, [n])[0] < prefix_errors(raster, test, [n])[0]


def test_full_length_reconstruction_errors(crops):
    train, test = crops
    raster = PatchTokenizer(k=64).fit(train)
    c2f = CoarseToFineTokenizer(k=64).fit(train)
    # the stated errors: the book prints the measured values; these are the bounds they must stay under
    assert prefix_errors(raster, test, [64])[0] < 0.006
    assert prefix_errors(c2f, test, [c2f.length])[0] < 0.004
    errors = prefix_errors(c2f, test, [1, 5, 21, 85, 341])
    assert np.all(np.diff(errors) < 0)  # each scale refines the whole image


def test_patch_decode_inverts_encode_on_centroids():
    tok = PatchTokenizer(k=8, patch=2).fit(random_crops(50, 8, seed=3))
    tokens = np.random.default_rng(0).integers(0, 8, (3, 16))
    again = tok.encode(tok.decode(tokens))
    assert np.array_equal(again, tokens)


def test_scan_orders_are_permutations_and_coarse_to_fine_prefix_is_whole():
    for kind in ("raster", "coarse_to_fine"):
        assert sorted(scan_order(8, kind).tolist()) == list(range(64))
    order = scan_order(8, "coarse_to_fine")
    assert order[:4].tolist() == [0, 4, 32, 36]
    grid = torch.arange(64).view(1, 8, 8)
    filled = fill_prefix(grid, order, 4)
    assert set(filled.unique().tolist()) == {0, 4, 32, 36}
    assert torch.equal(fill_prefix(grid, order, 64), grid)


def test_transformer_learns_a_deterministic_sequence():
    seqs = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3]] * 64)
    gpt = train_gpt(seqs, vocab=4, steps=150, progress=False)
    assert perplexity(gpt, seqs) < 1.3


def test_vqvae_learns_to_reconstruct():
    images = torch.tensor(random_crops(400, 32, seed=2), dtype=torch.float32)[:, None]
    model = train_vqvae(images, k=32, steps=150, progress=False)
    error = float(((model.decode(model.encode(images)) - images) ** 2).mean())
    assert error < float(images.var())


@pytest.mark.parametrize("call, error, match", [
    (lambda: zipf_slope([]), ValueError, "must not be empty"),
    (lambda: zipf_slope([1.5, 2.0]), TypeError, "integers"),
    (lambda: zipf_slope([0, 1], ranks=(5, 2)), ValueError, "ranks"),
    (lambda: zipf_slope([3, 3, 3]), ValueError, "two distinct"),
    (lambda: unigram_entropy([[0, 1]]), ValueError, "1-D"),
    (lambda: unigram_entropy([-1, 0]), ValueError, "must lie in"),
    (lambda: order_gap([np.array([0, 5])] * 4, k=4), ValueError, r"must lie in \[0, 4\)"),
    (lambda: order_gap([np.array([0, 1])], k=2), ValueError, "at least two"),
    (lambda: order_gap([np.array([0, 1])] * 3, k=2, test_fraction=1.0), ValueError, "test_fraction"),
    (lambda: bigram_cross_entropy([], [np.array([0])], 2), ValueError, "at least one"),
    (lambda: rank_frequency([]), ValueError, "empty"),
    (lambda: word_tokens(42), TypeError, "text must be a str"),
    (lambda: words_to_ids([]), ValueError, "empty"),
    (lambda: PatchTokenizer(k=4).fit(np.zeros((2, 6, 6))), ValueError, "multiples of 4"),
    (lambda: PatchTokenizer(k=4).fit(np.zeros((8, 8))), ValueError, r"\(n, H, W\)"),
    (lambda: PatchTokenizer(k=4).encode(np.zeros((1, 8, 8))), ValueError, "not fitted"),
    (lambda: PatchTokenizer(k=4, normalise=True).fit(random_crops(10, 8)).decode(np.zeros((1, 4), int)),
     ValueError, "cannot be decoded"),
    (lambda: PatchTokenizer(k=4).fit(random_crops(10, 8)).decode(np.full((1, 4), 9)), ValueError, r"\[0, 4\)"),
    (lambda: CoarseToFineTokenizer(scales=(2, 1)), ValueError, "increasing"),
    (lambda: CoarseToFineTokenizer(k=4, scales=(1, 2)).fit(random_crops(5, 8)).decode(np.zeros((1, 3), int)),
     ValueError, r"\(n, 5\)"),
    (lambda: random_crops(0), ValueError, "n must be"),
    (lambda: scan_order(6, "raster"), ValueError, "power of two"),
    (lambda: scan_order(8, "spiral"), ValueError, "kind"),
    (lambda: fill_prefix(torch.zeros(1, 4, 4, dtype=torch.long), scan_order(4), 0), ValueError, "n must lie"),
    (lambda: VQVAE()(torch.zeros(1, 3, 32, 32)), ValueError, r"\(B, 1, H, W\)"),
    (lambda: VQVAE(k=8).decode(torch.full((1, 2, 2), 8)), ValueError, r"\[0, 8\)"),
    (lambda: TinyGPT(4, 5)(torch.zeros(1, 6, dtype=torch.long)), ValueError, "T <= 5"),
    (lambda: train_gpt(torch.full((2, 3), 7), vocab=4, steps=1), ValueError, r"\[0, 4\)"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
