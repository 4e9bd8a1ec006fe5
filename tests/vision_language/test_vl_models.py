"""Encoders, the contrastive loss, training, prompt tuning and the VQA models: known values and invariants."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from causal_lessons.vision_language.contrastive import (
    fine_tune,
    info_nce,
    pair_similarities,
    pretrain,
    similarity,
    tokenizer,
    toy_clip,
)
from causal_lessons.vision_language.encoders import OrderAware, count_parameters, text_encoder
from causal_lessons.vision_language.prompts import PromptLearner, prompt_tuning, split_classes
from causal_lessons.vision_language.scenes import World, swap_pairs
from causal_lessons.vision_language.vqa import (
    ImageQuestion,
    QuestionOnly,
    question_only_accuracy,
    train_vqa,
    usual_colours,
    vqa_data,
    vqa_predict,
)


@pytest.mark.parametrize("vocab, embed, hidden, dim", [(17, 16, 32, 32), (23, 64, 128, 128), (10, 8, 8, 4)])
def test_text_encoders_have_matched_parameter_counts(vocab, embed, hidden, dim):
    bow = count_parameters(text_encoder("bag_of_words", vocab, embed, hidden, dim))
    gru = count_parameters(text_encoder("order_aware", vocab, embed, hidden, dim))
    # The MLP width is a whole number: the counts agree to within one hidden unit's parameters.
    assert abs(bow - gru) <= embed + 1 + dim


def test_order_aware_reads_only_up_to_each_length():
    enc = OrderAware(10, 4, 8, 6)
    short = enc(torch.tensor([[1, 2, 3]]), torch.tensor([3]))
    padded = enc(torch.tensor([[1, 2, 3, 0, 0]]), torch.tensor([3]))
    assert torch.allclose(short, padded, atol=1e-6)


def test_similarity_is_the_cosine_of_every_pair():
    text, image = torch.randn(5, 7), torch.randn(3, 7)
    loop = torch.tensor([[F.cosine_similarity(t, i, dim=0).item() for i in image] for t in text])
    assert torch.allclose(similarity(text, image), loop, atol=1e-6)


def test_info_nce_known_values():
    assert float(info_nce(torch.zeros(5, 5))) == pytest.approx(math.log(5))
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    rows = -(torch.log_softmax(logits, 1).diagonal()).mean()
    cols = -(torch.log_softmax(logits, 0).diagonal()).mean()
    assert float(info_nce(logits)) == pytest.approx(float(rows + cols) / 2)
    with pytest.raises(ValueError, match="square"):
        info_nce(torch.zeros(2, 3))


def test_pretraining_lowers_the_loss_and_scores_pairs():
    w = World()
    model = toy_clip(w, "order_aware", seed=0)
    losses = pretrain(model, w, steps=120, batch=16, seed=0)
    assert np.mean(losses[-20:]) < 0.7 * np.mean(losses[:20])
    pairs = swap_pairs(w, 2, np.random.default_rng(0))
    s = pair_similarities(model, pairs, w)
    assert s.shape == (8, 2, 2) and (s.abs() <= 1 + 1e-6).all()
    # The batched table equals one caption and one image at a time.
    tok = tokenizer(w)
    c0, _ = pairs.captions[0]
    ids, lengths = tok.encode([c0])
    with torch.no_grad():
        one = (model.encode_text(ids, lengths) @ model.encode_image(pairs.images[0, 1:2]).T).item()
    assert s[0, 0, 1].item() == pytest.approx(one, abs=1e-6)


def test_fine_tune_control_and_eqsim_differ_only_by_the_eqsim_term():
    w = World()
    base = toy_clip(w, "order_aware", seed=1)
    a, b, c = copy.deepcopy(base), copy.deepcopy(base), copy.deepcopy(base)
    la = fine_tune(a, w, steps=3, eqsim_weight=0.0, seed=5, pool_per_family=2)
    lb = fine_tune(b, w, steps=3, eqsim_weight=0.0, seed=5, pool_per_family=2)
    lc = fine_tune(c, w, steps=3, eqsim_weight=5.0, seed=5, pool_per_family=2)
    assert la == lb  # same seed: same batches, same result
    assert lc[0] > la[0]  # same first batch, plus a non-negative EqSim term
    assert not torch.equal(a.image.net[0].weight, c.image.net[0].weight)


def test_prompt_learner_starts_at_the_hand_written_prompt():
    w = World()
    model = toy_clip(w, "order_aware", seed=0)
    base, new = split_classes(w)
    assert not set(base) & set(new) and len(base) + len(new) == len(w.objects)
    learner = PromptLearner(model, w, base)
    ids, lengths = tokenizer(w).encode([f"a picture of a {c} {s}" for c, s in base])
    with torch.no_grad():
        assert torch.allclose(learner(), model.encode_text(ids, lengths), atol=1e-6)


def test_prompt_tuning_zero_shot_is_flat_and_shared_at_epoch_zero():
    w = World()
    model = toy_clip(w, "order_aware", seed=0)
    pretrain(model, w, steps=20, batch=16)
    before = copy.deepcopy(model.state_dict())
    table = prompt_tuning(model, w, epochs=6, shots=2, test_per_class=5, eval_every=3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # encoders untouched
    start = table[table.epoch == 0]
    assert start["base"].nunique() == 1 and start["new"].nunique() == 1
    zs = table[table.method == "zero-shot"]
    assert zs["base"].nunique() == 1 and sorted(zs["epoch"]) == [0, 3, 6]


def test_question_only_accuracy_by_hand():
    train = np.array([[30, 5, 5], [2, 20, 8], [1, 1, 40]])
    shifted = np.array([[5, 30, 5], [8, 2, 20], [40, 1, 1]])
    # Majority answers 0, 1, 2; test counts on them: 5 + 2 + 1 of 112.
    assert question_only_accuracy(train, shifted) == pytest.approx(8 / 112)
    assert question_only_accuracy(train, train) == pytest.approx(90 / 112)
    with pytest.raises(ValueError, match="same shape"):
        question_only_accuracy(train, shifted[:2])
    with pytest.raises(ValueError, match="whole counts"):
        question_only_accuracy(train + 0.5, shifted)


def test_question_only_accuracy_matches_data_frames_by_label():
    """The exercise's tables, matched by label: the test table's rows or columns in another order were paired by
    position (issue 20 saw 0.320 instead of 0.151)."""
    answers = ["red", "green", "blue", "yellow"]
    train = pd.DataFrame([[46, 6, 5, 3], [4, 39, 9, 8], [7, 5, 41, 7]], index=["circle", "square", "triangle"],
                         columns=answers)
    test = pd.DataFrame([[9, 31, 12, 8], [15, 8, 33, 8], [24, 10, 9, 5]], index=["circle", "square", "triangle"],
                        columns=answers)
    by_hand = (9 + 8 + 9) / 172  # majority answers red, green, blue: test counts 9, 8 and 9 of 172
    assert question_only_accuracy(train, test) == pytest.approx(by_hand, abs=1e-15)
    assert question_only_accuracy(train.to_numpy(), test.to_numpy()) == pytest.approx(by_hand, abs=1e-15)
    for shuffled in (test.iloc[::-1], test.iloc[[1, 2, 0]], test[answers[::-1]], test.iloc[::-1, ::-1]):
        assert question_only_accuracy(train, shuffled) == pytest.approx(by_hand, abs=1e-15), shuffled
        assert question_only_accuracy(train.iloc[[2, 0, 1]], shuffled) == pytest.approx(by_hand, abs=1e-15)
    # A data frame with an unlabelled array is read by position, as pandas does.
    assert question_only_accuracy(train, test.to_numpy()) == pytest.approx(by_hand, abs=1e-15)


def test_vqa_data_follow_the_skew_and_the_shift():
    w = World()
    rng = np.random.default_rng(0)
    train, shifted = vqa_data(w, 3_000, 0.8, rng), vqa_data(w, 3_000, 0.8, rng, shifted=True)
    usual, moved = torch.tensor(usual_colours(w)), torch.tensor(usual_colours(w, shifted=True))
    assert float((train.answers == usual[train.shapes]).double().mean()) == pytest.approx(0.8, abs=0.025)
    assert float((shifted.answers == moved[shifted.shapes]).double().mean()) == pytest.approx(0.8, abs=0.025)
    assert all(u != m for u, m in zip(usual.tolist(), moved.tolist()))


def test_question_only_model_learns_the_prior_and_fails_the_shift():
    w = World()
    rng = np.random.default_rng(0)
    train = vqa_data(w, 1_000, 0.8, rng)
    test_id, test_shift = vqa_data(w, 500, 0.8, rng), vqa_data(w, 500, 0.8, rng, shifted=True)
    model = QuestionOnly(len(tokenizer(w)), w.n_colours)
    train_vqa(model, train, steps=150, batch=64)
    usual = torch.tensor(usual_colours(w))
    assert torch.equal(vqa_predict(model, test_id), usual[test_id.shapes])  # it answers the prior, always
    acc = float((vqa_predict(model, test_shift) == test_shift.answers).double().mean())
    assert acc < 0.15
    with pytest.raises(ValueError, match="images"):
        ImageQuestion(len(tokenizer(w)), 4, 16)(train.ids[:2], train.lengths[:2])
