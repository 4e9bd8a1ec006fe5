"""Bad input to chapter 6's public functions raises ValueError or TypeError naming the argument (harness:
``tests/bad_input.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from bad_input import Case, assert_clear_error, check_case, params

from causal_lessons.tokenization import claims, lab, tiny_gpt, token_stats, tokenizers, vqvae

T = "causal_lessons.tokenization"
SEQS = [np.array([0, 1, 2, 1, 0, 2, 2, 1]) for _ in range(8)]
CROPS = tokenizers.random_crops(10, 8, seed=0)
PATCH = tokenizers.PatchTokenizer(k=4).fit(CROPS)
C2F = tokenizers.CoarseToFineTokenizer(k=4, scales=(1, 2)).fit(CROPS)
GPT = tiny_gpt.TinyGPT(vocab=4, length=6, dim=8, heads=2)
TYPE = ("type",)
RUNS = pd.DataFrame({"order": ["raster", "dilated"] * 2, "seed": [0, 0, 1, 1], "parameters": 10, "steps": 5,
                     "batch": 2, "test perplexity": [5.0, 6.0, 5.5, 6.5]})

CASES = [
    Case(claims.entropy_reading, {"verdict": "holds"}, ("verdict",), kinds=("type",), message={"verdict": "verdict"}),
    Case(token_stats.rank_frequency, {"tokens": [3, 1, 3]}, ("tokens",)),
    Case(token_stats.zipf_fit, {"tokens": [0, 0, 1, 2], "ranks": (1, 3)}, ("tokens", "ranks")),
    Case(token_stats.zipf_slope, {"tokens": [0, 0, 1, 2], "ranks": (1, 3)}, ("tokens", "ranks")),
    Case(token_stats.zipf_mle, {"tokens": [0, 0, 1, 2]}, ("tokens",)),
    Case(token_stats.unigram_entropy, {"tokens": [0, 1, 1]}, ("tokens",)),
    Case(token_stats.unigram_entropy, {"counts": [2, 1]}, ("counts",)),
    Case(token_stats.unigram_entropy, {"counts": np.array([2.0, 1.0])}, ("counts",), kinds=("complex",)),
    Case(token_stats.bigram_cross_entropy, {"train": SEQS[:3], "test": SEQS[3:], "k": 3, "alpha": 0.1,
                                            "beta": 1.0}, ("train", "test", "k", "alpha", "beta")),
    Case(token_stats.order_gap, {"sequences": SEQS, "k": 3, "seed": 0, "fractions": (0.25, 0.25)},
         ("sequences", "k", "seed", "fractions")),
    Case(tokenizers.random_crops, {"n": 2, "size": 8, "seed": 0}, ("n", "size", "seed"), kinds=TYPE),
    Case(tokenizers.word_tokens, {"text": "Alice was beginning"}, ("text",), kinds=TYPE),
    Case(tokenizers.words_to_ids, {"words": ["a", "b"]}, ("words",)),
    Case(tokenizers.words_to_ids, {"words": ["a", "b"], "vocab_size": 5}, ("vocab_size",), kinds=TYPE),
    Case(tokenizers.bpe_ids, {"words": ["ab", "b"], "vocab_size": 4}, ("words",)),
    Case(tokenizers.bpe_ids, {"words": ["ab", "b"], "vocab_size": 4}, ("vocab_size",), kinds=TYPE),
    Case(lambda images: tokenizers.PatchTokenizer(k=4).fit(images), {"images": CROPS}, ("images",),
         target=f"{T}.tokenizers.PatchTokenizer"),
    Case(lambda images: PATCH.encode(images), {"images": CROPS}, ("images",),
         target=f"{T}.tokenizers.PatchTokenizer"),
    Case(lambda tokens: PATCH.decode(tokens), {"tokens": PATCH.encode(CROPS)}, ("tokens",),
         target=f"{T}.tokenizers.PatchTokenizer"),
    Case(tokenizers.PatchTokenizer, {"k": 4, "patch": 4, "normalise": False, "seed": 0},
         ("k", "patch", "normalise", "seed"), kinds=TYPE),
    Case(lambda images: tokenizers.CoarseToFineTokenizer(k=4, scales=(1, 2)).fit(images), {"images": CROPS},
         ("images",), target=f"{T}.tokenizers.CoarseToFineTokenizer"),
    Case(lambda tokens: C2F.decode(tokens), {"tokens": C2F.encode(CROPS)}, ("tokens",),
         target=f"{T}.tokenizers.CoarseToFineTokenizer"),
    Case(lambda n_tokens: C2F.decode(C2F.encode(CROPS), n_tokens=n_tokens), {"n_tokens": 2}, ("n_tokens",),
         kinds=TYPE, target=f"{T}.tokenizers.CoarseToFineTokenizer"),
    Case(tokenizers.CoarseToFineTokenizer, {"k": 4, "scales": (1, 2), "seed": 0}, ("k", "scales", "seed")),
    # codebook_usage takes tokens of any shape (a grid or a list), so a mis-shaped array is valid input.
    Case(tokenizers.codebook_usage, {"tokens": np.array([0, 1, 1]), "k": 4}, ("tokens", "k"),
         kinds=("nan", "inf", "empty", "type")),
    Case(tokenizers.prefix_errors, {"tokenizer": PATCH, "images": CROPS, "lengths": [1, 2]},
         ("tokenizer", "images", "lengths")),
    Case(lambda z: vqvae.VectorQuantizer(8, 4)(z), {"z": torch.randn(2, 4, 3, 3)}, ("z",),
         kinds=("empty", "shape", "type"), target=f"{T}.vqvae.VectorQuantizer"),  # NaN: see the docstring
    Case(vqvae.VectorQuantizer, {"k": 8, "dim": 4}, ("k", "dim"), kinds=TYPE),
    Case(lambda x: vqvae.VQVAE(k=8)(x), {"x": torch.rand(2, 1, 8, 8)}, ("x",), target=f"{T}.vqvae.VQVAE"),
    Case(lambda x: vqvae.VQVAE(k=8).encode(x), {"x": torch.rand(2, 1, 8, 8)}, ("x",), target=f"{T}.vqvae.VQVAE"),
    Case(lambda tokens: vqvae.VQVAE(k=8).decode(tokens), {"tokens": torch.zeros(1, 2, 2, dtype=torch.long)},
         ("tokens",), target=f"{T}.vqvae.VQVAE"),
    Case(vqvae.VQVAE, {"k": 8, "dim": 4, "hidden": 8}, ("k", "dim", "hidden"), kinds=TYPE),
    Case(vqvae.vqvae_loss, {"model": vqvae.VQVAE(k=8), "batch": torch.rand(2, 1, 8, 8)}, ("model", "batch")),
    Case(vqvae.train_vqvae, {"images": torch.rand(4, 1, 8, 8), "k": 4, "steps": 1, "progress": False},
         ("images", "k", "steps")),
    Case(lambda x: tiny_gpt.Block(8, 2)(x), {"x": torch.randn(1, 5, 8)}, ("x",),
         kinds=("empty", "shape", "type"), target=f"{T}.tiny_gpt.Block"),  # NaN: see the docstring
    Case(lambda tokens: GPT(tokens), {"tokens": torch.zeros(2, 6, dtype=torch.long)}, ("tokens",),
         target=f"{T}.tiny_gpt.TinyGPT"),
    Case(tiny_gpt.TinyGPT, {"vocab": 4, "length": 6, "dim": 8, "layers": 1, "heads": 2},
         ("vocab", "length", "dim", "layers", "heads"), kinds=TYPE),
    Case(tiny_gpt.gpt_loss, {"model": GPT, "batch": torch.zeros(2, 6, dtype=torch.long)}, ("model", "batch")),
    Case(tiny_gpt.train_gpt, {"sequences": torch.zeros(4, 6, dtype=torch.long), "vocab": 4, "steps": 1,
                              "progress": False}, ("sequences", "vocab", "steps")),
    Case(tiny_gpt.perplexity, {"model": GPT, "sequences": torch.zeros(2, 6, dtype=torch.long)},
         ("model", "sequences")),
    Case(tiny_gpt.scan_order, {"size": 4, "kind": "raster"}, ("size", "kind"), kinds=TYPE),
    Case(tiny_gpt.fill_prefix, {"grid_tokens": torch.arange(16).view(1, 4, 4), "order": tiny_gpt.scan_order(4),
                                "n": 2}, ("grid_tokens", "order", "n")),
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=TYPE),
    Case(lab.summarise, {"table": RUNS, "length": 64}, ("table", "length")),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=TYPE),
    Case(claims.jackknife, {"statistic": lambda idx: float(np.mean(idx)), "n_rows": 10}, ("statistic", "n_rows"),
         kinds=TYPE),
    Case(claims.measure, {"n_fit": 300}, ("n_fit",), kinds=TYPE),
    Case(claims.claims, {"results": None}, ("results",), kinds=TYPE),
    Case(claims.ddt_wording, {"verdict": "holds"}, ("verdict",), kinds=TYPE),
]

EXEMPT = {
    f"{T}.tokenizers.load_photos": "no arguments",
    f"{T}.token_stats.OrderGap": "a record made by order_gap; its methods take test-row indices from a bootstrap",
    f"{T}.lab.LabSettings": "a record made by settings()",
    f"{T}.claims.PatchStats": "a record made by measure()",
    f"{T}.claims.Comparison": "a record made by measure()",
    f"{T}.claims.TokenizationResults": "a record made by measure()",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_chapter_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


def test_the_review_s_cases_are_clear_errors():
    """The calls the review found silent or confusing (issue 10)."""
    with pytest.raises(TypeError, match="words must be a list of str"):
        tokenizers.words_to_ids("alice")
    with pytest.raises(ValueError, match="size must be at most"):
        tokenizers.random_crops(2, 400)
    with pytest.raises(TypeError, match="lengths must be a list"):
        tokenizers.prefix_errors(PATCH, CROPS, lengths=5)
    assert token_stats.unigram_entropy(counts=[4, 2, 1, 1]) == 1.75  # counts now have their own argument


@pytest.mark.parametrize("counts", [[4, 2, 1, 1], np.bincount(np.repeat([0, 1, 2], [5, 3, 1])), [9, 9, 2]])
def test_a_count_vector_passed_as_tokens_is_refused(counts):
    """Issue 20: ``unigram_entropy(np.bincount(ids))`` read the counts as a token sequence and returned a number."""
    assert_clear_error(token_stats.unigram_entropy, {"tokens": [0, 1, 1]}, "tokens", counts, "pass counts=")
