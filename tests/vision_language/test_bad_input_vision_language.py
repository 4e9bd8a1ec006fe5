"""Bad input to chapter 5's public callables raises a clear error naming the argument (harness: tests/bad_input.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from bad_input import Case, assert_clear_error, check_case, params

from causal_lessons.vision_language import claims, contrastive, encoders, lab, prompts, scenes, scores, stacked, vqa

W = scenes.World()
RNG = np.random.default_rng(0)
MODEL = contrastive.toy_clip(W, "order_aware")
PAIRS = scenes.swap_pairs(W, 1, np.random.default_rng(0))
SCENES = [scenes.Scene(("red", "circle"), "left of", ("blue", "square"))]
TABLE = np.array([[[0.9, 0.2], [0.1, 0.8]], [[0.5, 0.6], [0.1, 0.8]]])
VQA = vqa.vqa_data(W, 4, 0.8, np.random.default_rng(0))
Q_MODEL = vqa.QuestionOnly(17, 4)
VL = "causal_lessons.vision_language"
NUMBERS = ("nan", "type")
COMPLEX = ("complex",)

CASES = [
    # scenes
    Case(scenes.World, {"n_colours": 4, "n_shapes": 3, "n_relations": 2, "size": 16, "held_out": 4},
         ("n_colours", "n_shapes", "n_relations", "size", "held_out"), kinds=NUMBERS),
    Case(scenes.family_of, {"a": ("red", "circle"), "b": ("blue", "square")}, ("a", "b"), kinds=("type",)),
    Case(scenes.object_caption, {"obj": ("red", "circle")}, ("obj",), kinds=("type",)),
    Case(scenes.WordTokenizer, {"words": ["a", "red"]}, ("words",), kinds=("empty", "type")),
    Case(scenes.render, {"scenes": SCENES, "world": W, "rng": RNG, "noise": 0.03, "contrast": 1.0},
         ("world", "rng", "noise", "contrast")),
    # The harness cannot spoil a list of nested Scene triples (numpy refuses the ragged array): a mistyped
    # argument here; an empty list is tested in test_world.py.
    Case(scenes.render, {"scenes": "a list of scenes", "world": W, "rng": RNG}, ("scenes",), kinds=("type",)),
    Case(scenes.render_objects, {"objects": [("red", "circle")], "world": W, "rng": RNG, "noise": 0.03},
         ("world", "rng", "noise")),
    Case(scenes.render_objects, {"objects": [("red", "circle")], "world": W, "rng": RNG}, ("objects",),
         kinds=("empty", "type")),
    Case(scenes.swap_pairs, {"world": W, "n_per_family": 1, "rng": RNG, "held_out": True},
         ("world", "n_per_family", "rng", "held_out"), kinds=NUMBERS),
    Case(scenes.sliding_edit, {"a": ("red", "circle"), "b": ("blue", "square"), "world": W, "rng": RNG, "steps": 9},
         ("a", "b", "world", "rng", "steps"), kinds=NUMBERS),
    Case(scenes.edit_frame_relations, {"world": W, "steps": 9}, ("world", "steps"), kinds=NUMBERS),
    # encoders
    Case(encoders.count_parameters, {"module": torch.nn.Linear(2, 2)}, ("module",), kinds=("type",)),
    Case(encoders.ImageEncoder, {"size": 16, "width": 8, "dim": 32}, ("size", "width", "dim"), kinds=NUMBERS),
    Case(encoders.BagOfWords, {"vocab_size": 10, "embed": 4, "hidden": 8, "dim": 6},
         ("vocab_size", "embed", "hidden", "dim"), kinds=NUMBERS),
    Case(encoders.OrderAware, {"vocab_size": 10, "embed": 4, "hidden": 8, "dim": 6},
         ("vocab_size", "embed", "hidden", "dim"), kinds=NUMBERS),
    Case(encoders.text_encoder, {"kind": "order_aware", "vocab_size": 10}, ("kind", "vocab_size"), kinds=NUMBERS),
    Case(encoders.ToyCLIP, {"image": encoders.ImageEncoder(16), "text": encoders.OrderAware(10, 4, 8, 32),
                            "temperature": 0.07}, ("image", "text", "temperature"), kinds=NUMBERS),
    # contrastive
    Case(contrastive.similarity, {"text": torch.randn(3, 4), "image": torch.randn(2, 4)}, ("text", "image")),
    Case(contrastive.info_nce, {"logits": torch.randn(3, 3)}, ("logits",)),
    Case(contrastive.toy_clip, {"world": W, "kind": "order_aware"}, ("world", "kind"), kinds=("type",)),
    Case(contrastive.tokenizer, {"world": W}, ("world",), kinds=("type",)),
    Case(contrastive.pretrain, {"model": MODEL, "world": W, "steps": 1, "batch": 4, "lr": 1e-3, "variants": 1},
         ("model", "world", "steps", "batch", "lr", "variants"), kinds=NUMBERS),
    Case(contrastive.pair_similarities, {"model": MODEL, "pairs": PAIRS, "world": W}, ("model", "pairs", "world"),
         kinds=("type",)),
    Case(contrastive.fine_tune, {"model": MODEL, "world": W, "steps": 1, "eqsim_weight": 1.0, "margin": 0.0,
                                 "lr": 1e-3, "pool_per_family": 1, "normalised": True},
         ("model", "world", "steps", "eqsim_weight", "margin", "lr", "pool_per_family", "normalised"), kinds=NUMBERS),
    # scores
    Case(scores.winoground_scores, {"s": TABLE}, ("s",)),
    Case(scores.eqsim_terms, {"s": TABLE, "margin": 0.0}, ("s", "margin")),
    Case(scores.eqsim_loss, {"s": torch.tensor(TABLE), "margin": 0.0}, ("s", "margin")),
    # Complex similarities: a cast to float would drop the imaginary part (issue 20).
    Case(scores.winoground_scores, {"s": TABLE}, ("s",), kinds=COMPLEX),
    Case(scores.winoground_scores, {"s": TABLE.tolist()}, ("s",), kinds=COMPLEX),
    Case(scores.winoground_scores, {"s": torch.tensor(TABLE)}, ("s",), kinds=COMPLEX),
    Case(scores.eqsim_terms, {"s": TABLE, "margin": 0.0}, ("s", "margin"), kinds=COMPLEX),
    Case(scores.eqsim_loss, {"s": torch.tensor(TABLE), "margin": 0.0}, ("s",), kinds=COMPLEX),
    Case(contrastive.similarity, {"text": torch.randn(3, 4), "image": torch.randn(2, 4)}, ("text", "image"),
         kinds=COMPLEX),
    # prompts
    Case(prompts.prograd_gradient, {"g_task": torch.tensor([1.0, 2.0]), "g_general": torch.tensor([-1.0, 0.0]),
                                    "lam": 1.0}, ("g_task", "g_general", "lam")),
    Case(prompts.harmonic_mean, {"base": 0.8, "new": 0.5}, ("base", "new")),
    Case(prompts.harmonic_mean, {"base": np.array([0.8, 0.6]), "new": [0.5, 0.4]}, ("base", "new"),
         kinds=COMPLEX),
    Case(prompts.prograd_gradient, {"g_task": torch.tensor([1.0, 2.0]), "g_general": torch.tensor([-1.0, 0.0])},
         ("g_task", "g_general"), kinds=COMPLEX),
    Case(prompts.split_classes, {"world": W}, ("world",), kinds=("type",)),
    Case(prompts.PromptLearner, {"model": MODEL, "world": W, "classes": [("red", "circle")]},
         ("model", "world", "classes"), kinds=("empty", "type")),
    Case(prompts.prompt_tuning, {"model": MODEL, "world": W, "epochs": 1, "shots": 1, "test_per_class": 1,
                                 "lr": 0.05, "eval_every": 1},
         ("model", "world", "epochs", "shots", "test_per_class", "lr", "eval_every"), kinds=NUMBERS),
    # vqa
    Case(vqa.usual_colours, {"world": W, "shifted": False}, ("world", "shifted"), kinds=("type",)),
    Case(vqa.vqa_data, {"world": W, "n": 2, "skew": 0.8, "rng": RNG, "shifted": False},
         ("world", "n", "skew", "rng", "shifted"), kinds=NUMBERS),
    Case(vqa.QuestionOnly, {"vocab_size": 17, "n_answers": 4}, ("vocab_size", "n_answers"), kinds=NUMBERS),
    Case(vqa.ImageQuestion, {"vocab_size": 17, "n_answers": 4, "size": 16, "width": 4},
         ("vocab_size", "n_answers", "size", "width"), kinds=NUMBERS),
    Case(vqa.train_vqa, {"model": Q_MODEL, "data": VQA, "steps": 1, "batch": 2, "lr": 1e-3},
         ("model", "data", "steps", "batch", "lr"), kinds=NUMBERS),
    Case(vqa.vqa_predict, {"model": Q_MODEL, "data": VQA}, ("model", "data"), kinds=("type",)),
    Case(vqa.question_only_accuracy, {"train_counts": np.array([[8, 2], [1, 9]]),
                                      "test_counts": np.array([[2, 8], [9, 1]])}, ("train_counts", "test_counts")),
    Case(vqa.question_only_accuracy, {"train_counts": np.array([[8, 2], [1, 9]]),
                                      "test_counts": [[2, 8], [9, 1]]}, ("train_counts", "test_counts"),
         kinds=COMPLEX),
    # stacked (the models are trained in place: each case gets its own)
    Case(stacked.pretrain_seeds, {"models": [contrastive.toy_clip(W, "order_aware")], "worlds": [W], "steps": 1,
                                  "seeds": [0], "batch": 8, "variants": 2},
         ("models", "worlds", "steps", "seeds", "batch", "variants"), kinds=NUMBERS),
    Case(stacked.fine_tune_seeds, {"models": [contrastive.toy_clip(W, "order_aware")], "worlds": [W], "steps": 1,
                                   "seeds": [0], "eqsim_weights": [1.0], "margins": [0.0], "normalised": True,
                                   "pool_per_family": 1},
         ("models", "worlds", "steps", "seeds", "eqsim_weights", "margins", "normalised", "pool_per_family"),
         kinds=NUMBERS),
    Case(stacked.train_vqa_seeds, {"models": [vqa.QuestionOnly(17, 4)], "data": [VQA], "steps": 1, "seeds": [0],
                                   "batch": 2}, ("models", "data", "steps", "seeds", "batch"), kinds=NUMBERS),
    # claims and lab
    Case(claims.sizes, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(claims.measure, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(claims.difference, {"values": [0.9, 0.8, 0.85], "baseline": [0.5, 0.6, 0.5]}, ("values", "baseline")),
    Case(claims.share, {"values": [0.5, 0.6, 0.7]}, ("values",)),
    Case(claims.prompt_summary, {"results": None}, ("results",), kinds=("type",)),
    Case(claims.claims, {"results": None}, ("results",), kinds=("type",)),
    Case(claims.eqsim_check, {"results": None}, ("results",), kinds=("type",)),
    Case(claims.held_out_pairs, {"cfg": None, "seed": 0}, ("cfg",), kinds=("type",)),
    Case(claims.validation_pairs, {"cfg": None, "seed": 0}, ("cfg",), kinds=("type",)),
    Case(claims.distinct_caption_pairs, {"pairs": PAIRS}, ("pairs",), kinds=("type",)),
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
]

EXEMPT = {
    f"{VL}.scenes.Scene": "a named triple; render and the captions check its parts against the world",
    f"{VL}.scenes.SwapPairs": "a record made by swap_pairs",
    f"{VL}.vqa.VQAData": "a record made by vqa_data",
    f"{VL}.claims.Sizes": "a record made by sizes",
    f"{VL}.claims.VisionLanguageResults": "a record made by measure",
    f"{VL}.lab.LabSettings": "a record made by settings",
    f"{VL}.scores.chance_scores": "no arguments",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_vision_language_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


COUNTS = pd.DataFrame([[46, 6, 5, 3], [4, 39, 9, 8], [7, 5, 41, 7]], index=["circle", "square", "triangle"],
                      columns=["red", "green", "blue", "yellow"])


@pytest.mark.parametrize("argument, bad, expect", [
    ("test_counts", COUNTS.rename(index={"circle": "disc"}), "test_counts must have the same row labels"),
    ("test_counts", COUNTS.rename(columns={"red": "crimson"}), "test_counts must have the same column"),
    ("test_counts", COUNTS.iloc[[0, 0, 1]], "unique row labels"),
    ("test_counts", COUNTS["red"], "test_counts must be a non-empty 2-D table"),
])
def test_question_only_accuracy_refuses_tables_whose_labels_do_not_match(argument, bad, expect):
    assert_clear_error(vqa.question_only_accuracy, {"train_counts": COUNTS, "test_counts": COUNTS}, argument, bad,
                       expect)


@pytest.mark.parametrize("argument, bad, expect", [
    ("new", pd.Series({"CoOp": 0.6, "MaPLe": 0.5}), "new must have the same row labels"),
    ("new", pd.DataFrame({"CoOp": [0.6], "ProGrad": [0.5]}), "both be Series"),
    ("new", np.array([0.6, 0.5, 0.4]), "broadcast"),
    ("new", np.array([[0.6], [0.5]]), "keeps its labels"),
])
def test_harmonic_mean_refuses_labels_or_shapes_that_do_not_match(argument, bad, expect):
    assert_clear_error(prompts.harmonic_mean, {"base": pd.Series({"CoOp": 0.9, "ProGrad": 0.8}),
                                               "new": pd.Series({"CoOp": 0.6, "ProGrad": 0.5})}, argument, bad, expect)
