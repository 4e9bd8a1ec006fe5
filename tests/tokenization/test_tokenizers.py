"""Tokenizers: the prefix property of the coarse-to-fine code (by construction), its measured advantage at short
prefixes, reconstruction bounds, codebook use, and the word tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from causal_lessons.tokenization.tokenizers import (
    END,
    MAX_CROP,
    CoarseToFineTokenizer,
    PatchTokenizer,
    bpe_ids,
    codebook_usage,
    load_photos,
    prefix_errors,
    random_crops,
    word_tokens,
    words_to_ids,
)


@pytest.fixture(scope="module")
def crops():
    return random_crops(800, 32, seed=0), random_crops(100, 32, seed=1)


@pytest.fixture(scope="module")
def fitted(crops):
    train, _ = crops
    return PatchTokenizer(k=64).fit(train), CoarseToFineTokenizer(k=64).fit(train)


def test_every_coarse_to_fine_prefix_is_a_whole_image(crops, fitted):
    """By construction: a prefix that ends at a scale boundary decodes to the sum of the coarser scales, constant
    on the cells of the last scale decoded -- a whole image at that resolution, with no grey hole."""
    _, test = crops
    _, c2f = fitted
    tokens = c2f.encode(test)
    start = 0
    for s in c2f.scales:
        start += s * s
        image = c2f.decode(tokens, n_tokens=start)
        cells = image.reshape(len(test), s, 32 // s, s, 32 // s)
        assert np.allclose(cells, cells[:, :, :1, :, :1])


def test_a_raster_prefix_is_a_partial_image(crops, fitted):
    _, test = crops
    raster, _ = fitted
    image = raster.decode(raster.encode(test), n_tokens=8)  # the first row of patches
    assert np.all(image[:, 4:] == raster.fill)


def test_short_coarse_to_fine_prefixes_beat_raster_ones(crops, fitted):
    _, test = crops
    raster, c2f = fitted
    for n in (1, 5, 21):
        assert prefix_errors(c2f, test, [n])[0] < prefix_errors(raster, test, [n])[0]


def test_full_length_reconstruction_errors(crops, fitted):
    _, test = crops
    raster, c2f = fitted
    assert prefix_errors(raster, test, [64])[0] < 0.006
    assert prefix_errors(c2f, test, [c2f.length])[0] < 0.004
    errors = prefix_errors(c2f, test, [1, 5, 21, 85, 341])
    assert np.all(np.diff(errors) < 0)  # each scale refines the whole image


def test_patch_decode_inverts_encode_on_centroids():
    tok = PatchTokenizer(k=8, patch=2).fit(random_crops(50, 8, seed=3))
    tokens = np.random.default_rng(0).integers(0, 8, (3, 16))
    assert np.array_equal(tok.encode(tok.decode(tokens)), tokens)


def test_k_means_codebooks_use_nearly_every_code(crops, fitted):
    _, test = crops
    raster, _ = fitted
    usage = codebook_usage(raster.encode(test), 64)
    # On held-out crops the rarest code is used a handful of times: whether all 64 are is one run's result.
    assert 0.9 * 64 < usage["used"] <= 64 and 1 < usage["perplexity"] <= 64


def test_codebook_usage_known_values():
    assert codebook_usage(np.array([0, 1, 2, 3]), 8) == {"used": 4, "perplexity": 4.0}
    assert codebook_usage(np.zeros(10, dtype=int), 8) == {"used": 1, "perplexity": 1.0}


def test_crops_up_to_the_smallest_photo():
    assert MAX_CROP == min(min(p.shape) for p in load_photos())
    assert random_crops(2, MAX_CROP).shape == (2, MAX_CROP, MAX_CROP)
    with pytest.raises(ValueError, match=f"size must be at most {MAX_CROP}"):
        random_crops(2, MAX_CROP + 1)


def test_crops_are_reproducible_and_in_range():
    a, b = random_crops(20, 16, seed=4), random_crops(20, 16, seed=4)
    assert np.array_equal(a, b) and 0 <= a.min() and a.max() <= 1


def test_words_and_ids():
    assert word_tokens("'Curiouser and curiouser!' cried Alice.") == [
        "curiouser", "and", "curiouser", "cried", "alice"]
    with pytest.raises(TypeError, match="words must be a list of str"):
        words_to_ids("alice")  # a str would be split into characters
    with pytest.raises(TypeError, match="only str"):
        words_to_ids(["a", 3])


def test_prefix_lengths_must_be_a_list():
    tok = PatchTokenizer(k=4).fit(random_crops(10, 8))
    with pytest.raises(TypeError, match="for one length write"):
        prefix_errors(tok, random_crops(2, 8), lengths=5)
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 4\]"):
        prefix_errors(tok, random_crops(2, 8), lengths=[5])


@pytest.mark.parametrize("call, error, match", [
    (lambda: PatchTokenizer(k=4).fit(np.zeros((2, 6, 6))), ValueError, "multiples of 4"),
    (lambda: PatchTokenizer(k=4).fit(np.zeros((8, 8))), ValueError, r"\(n, H, W\)"),
    (lambda: PatchTokenizer(k=4).encode(np.zeros((1, 8, 8))), ValueError, "not fitted"),
    (lambda: PatchTokenizer(k=4, normalise=True).fit(random_crops(10, 8)).decode(np.zeros((1, 4), int)),
     ValueError, "cannot be decoded"),
    (lambda: PatchTokenizer(k=4).fit(random_crops(10, 8)).decode(np.full((1, 4), 9)), ValueError, r"\[0, 4\)"),
    (lambda: PatchTokenizer(k=64).fit(random_crops(1, 8)), ValueError, "at least k = 64 patches"),
    (lambda: CoarseToFineTokenizer(scales=(2, 1)), ValueError, "increasing"),
    (lambda: CoarseToFineTokenizer(k=4, scales=(1, 2)).fit(random_crops(5, 8)).decode(np.zeros((1, 3), int)),
     ValueError, r"\(n, 5\)"),
    (lambda: CoarseToFineTokenizer(k=4, scales=(1, 2)).fit(random_crops(5, 8)).encode(random_crops(2, 16)),
     ValueError, "like the fitted ones"),
    (lambda: random_crops(0), ValueError, "n must be"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bpe_spells_every_word_with_exactly_v_symbols_and_no_unk():
    words = word_tokens("the cat sat on the mat; the rat ate the hat")
    ids, symbols = bpe_ids(words, vocab_size=16)
    assert len(symbols) == 16 and len(set(symbols)) == 16
    assert "".join(symbols[i] for i in ids).split(END)[:-1] == words  # nothing lost, boundaries kept
    counts = np.bincount(ids, minlength=16)
    assert np.all(np.diff(counts) <= 0)  # ids by frequency rank
    with pytest.raises(ValueError, match="base symbols"):
        bpe_ids(words, vocab_size=4)
