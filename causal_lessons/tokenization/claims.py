"""Chapter 6's rows of the claim check, measured once by :func:`measure` and judged by :func:`claims`."""

from __future__ import annotations

from dataclasses import dataclass

from .. import runtime
from ..claims import Claim, Interval, above, cached, make_claim, within
from ..datasets import load_text
from .token_stats import order_gap, zipf_slope
from .tokenizers import CoarseToFineTokenizer, PatchTokenizer, prefix_errors, random_crops, word_tokens, words_to_ids


@dataclass(frozen=True)
class TokenizationResults:
    """What chapter 6 measures: the Zipf slope of words, order gaps of words and patch tokens, and the error of
    one-token prefixes."""

    slope: float
    text_gap: float
    patch_gaps: dict[bool, float]
    one_token_raster: float
    one_token_c2f: float
    n_crops: int


@cached
def measure(n_crops: int | None = None) -> TokenizationResults:
    """Run chapter 6's measurements.

    Examples
    --------
    >>> round(measure(300).slope, 2)
    -1.09
    """
    n_crops = runtime.pick(2_000, 20_000) if n_crops is None else n_crops
    ids, vocab = words_to_ids(word_tokens(load_text("alice")))
    slope = zipf_slope(ids, (1, 1000))
    text_gap = order_gap([ids[i:i + 64] for i in range(0, len(ids) - 64, 64)], len(vocab))["gap"]
    crops, test = random_crops(n_crops, 32, seed=0), random_crops(200, 32, seed=1)
    gaps = {}
    for normalise in (False, True):
        tok = PatchTokenizer(k=64, normalise=normalise).fit(crops)
        gaps[normalise] = order_gap(list(tok.encode(crops)), 64)["gap"]
    raster = PatchTokenizer(k=64).fit(crops)
    c2f = CoarseToFineTokenizer(k=64).fit(crops)
    one_raster, one_c2f = prefix_errors(raster, test, [1])[0], prefix_errors(c2f, test, [1])[0]
    return TokenizationResults(slope, text_gap, gaps, one_raster, one_c2f, n_crops)


def claims(results: TokenizationResults | None = None) -> list[Claim]:
    """Rows for chapter 6, "Multimodal tokenization".

    Examples
    --------
    >>> [c.verdict for c in claims(measure(300))]
    ['holds', 'does not hold', 'holds']
    """
    res = measure() if results is None else results
    return [
        make_claim("tokenization", "Word tokens follow Zipf's law (rank-frequency slope near -1)", [
            within(Interval.exact(res.slope), -1.0, 0.15, "slope over ranks 1-1000", 2),
        ], "Alice in Wonderland"),
        make_claim("tokenization", "Shuffling spatial image tokens barely matters (the DDT paper's claim)", [
            above(Interval.exact(-min(res.patch_gaps.values())), -0.1,
                  "minus the smallest order gap of patch tokens (bits per token)", 2),
        ], f"bigram proxy, K = 64, 32 x 32 crops; words: {res.text_gap:.2f} bits"),
        make_claim("tokenization", "Coarse-to-fine (recursive) tokens decode to a whole image from any prefix", [
            above(Interval.exact(res.one_token_raster - res.one_token_c2f), 0.0,
                  "MSE after one token, raster minus coarse-to-fine", 4),
        ]),
    ]
