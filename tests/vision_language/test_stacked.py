"""Training several seeds at once gives each model what training it alone gives (up to rounding)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from causal_lessons.vision_language.contrastive import fine_tune, pretrain, toy_clip
from causal_lessons.vision_language.scenes import World
from causal_lessons.vision_language.stacked import fine_tune_seeds, pretrain_seeds, train_vqa_seeds
from causal_lessons.vision_language.vqa import ImageQuestion, QuestionOnly, train_vqa, vqa_data


def _max_gap(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((x - y).detach().abs().max()) for x, y in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("kind", ["order_aware", "bag_of_words"])
def test_pretraining_seeds_together_matches_one_at_a_time(kind):
    worlds = [World(seed=s) for s in (0, 1)]
    models = [toy_clip(w, kind, seed=s) for s, w in enumerate(worlds)]
    alone = [copy.deepcopy(m) for m in models]
    together = pretrain_seeds(models, worlds, 5, seeds=[0, 1], batch=8, variants=2)
    for k, (m, ref, w) in enumerate(zip(models, alone, worlds)):
        losses = pretrain(ref, w, 5, batch=8, seed=k, variants=2)
        assert np.allclose(together[k], losses, atol=1e-5)
        assert _max_gap(m, ref) < 1e-4


def test_fine_tuning_candidates_together_matches_one_at_a_time():
    worlds = [World(seed=0), World(seed=0), World(seed=1)]
    models = [toy_clip(w, "order_aware", seed=k) for k, w in enumerate(worlds)]
    alone = [copy.deepcopy(m) for m in models]
    weights, margins, seeds = [0.0, 1.0, 10.0], [0.0, 0.1, 0.0], [0, 0, 1]
    together = fine_tune_seeds(models, worlds, 4, seeds, weights, margins, normalised=True, pool_per_family=2)
    for k, ref in enumerate(alone):
        losses = fine_tune(ref, worlds[k], 4, eqsim_weight=weights[k], margin=margins[k], seed=seeds[k],
                           normalised=True, pool_per_family=2)
        assert np.allclose(together[k], losses, atol=1e-5)
        assert _max_gap(models[k], ref) < 1e-4


@pytest.mark.parametrize("build", [lambda: QuestionOnly(17, 4), lambda: ImageQuestion(17, 4, 16, width=4)])
def test_vqa_seeds_together_matches_one_at_a_time(build):
    w = World()
    data = [vqa_data(w, 40, 0.8, np.random.default_rng(s)) for s in (0, 1)]
    models = []
    for s in (0, 1):
        torch.manual_seed(s)
        models.append(build())
    alone = [copy.deepcopy(m) for m in models]
    together = train_vqa_seeds(models, data, 5, [0, 1], batch=8)
    for k, ref in enumerate(alone):
        losses = train_vqa(ref, data[k], 5, batch=8, seed=k)
        assert np.allclose(together[k], losses, atol=1e-5)
        assert _max_gap(models[k], ref) < 1e-4


def test_models_of_different_architectures_are_refused():
    w = World()
    with pytest.raises(ValueError, match="architecture"):
        pretrain_seeds([toy_clip(w, "order_aware"), toy_clip(w, "bag_of_words")], [w, w], 1, seeds=[0, 1])
