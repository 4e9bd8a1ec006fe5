"""Bad input to chapter 2's public functions (NaN, inf, empty, mis-shaped, mistyped) raises a clear error naming
the argument; see ``tests/bad_input.py``."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from bad_input import Case, check_case, params

from causal_lessons.confounders import (
    claims,
    coloured_images,
    context_shortcut,
    cooccurrence,
    dags,
    explorers,
    lab,
    scenes,
    vcrcnn,
)

matplotlib.use("Agg")

LABELS = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=np.uint8)
NAMES = ("a", "b", "c")
IMAGES = context_shortcut.make_context_images(16, 0.9, seed=0)
MODEL = context_shortcut.SmallCNN(4)
DICTIONARY, PRIOR = torch.randn(3, 4), torch.tensor([0.2, 0.3, 0.5])
VC = vcrcnn.VCIntervention(4, DICTIONARY, PRIOR, n_classes=2)
NWGM_CONTROL = vcrcnn.NWGMIntervention(4, DICTIONARY, PRIOR, n_classes=2)
WORLD = scenes.make_scene_world()
TABLE = cooccurrence.stratum_table(LABELS, 1, 0)

PAIR = {"labels": LABELS, "y": "b", "x": "a", "names": NAMES}

CASES = [
    # cooccurrence
    Case(cooccurrence.as_label_matrix, {"labels": LABELS}, ("labels",)),
    Case(cooccurrence.class_index, {"cls": "b", "names": NAMES, "k": 3}, ("cls",), kinds=("type",),
         message={"cls": "class"}),
    Case(cooccurrence.three_way_counts, {"labels": LABELS}, ("labels",)),
    Case(cooccurrence.conditional_matrix, {"labels": LABELS}, ("labels",)),
    Case(cooccurrence.interventional_matrix, {"labels": LABELS}, ("labels",)),
    Case(cooccurrence.conditional, dict(PAIR), ("labels", "y", "x", "names")),
    Case(cooccurrence.interventional, dict(PAIR), ("labels", "y", "x", "names")),
    Case(cooccurrence.stratum_table, dict(PAIR), ("labels", "y", "x", "names")),
    Case(cooccurrence.skipped_strata, dict(PAIR), ("labels", "y", "x", "names")),
    Case(cooccurrence.resampled_pair, dict(PAIR), ("labels", "y", "x", "names")),
    Case(cooccurrence.backdoor, {"x": np.array([1, 0, 1, 0]), "y": np.array([1, 0, 0, 1]),
                                 "z": np.array([0.0, 0.0, 1.0, 1.0])}, ("x", "y", "z")),
    Case(cooccurrence.backdoor, {"x": [1, 0, 1, 0], "y": [1, 0, 0, 1], "z": [0, 0, 1, 1], "x_value": 1},
         ("x_value",), kinds=("type",), target="causal_lessons.confounders.cooccurrence.backdoor"),
    Case(cooccurrence.backdoor_matrix, {"labels": LABELS, "strata": np.array([0.0, 0.0, 1.0, 1.0])},
         ("labels", "strata")),
    # scenes
    Case(scenes.make_scene_world, {"positivity_floor": 0.03, "scene_prior": (0.2, 0.25, 0.25, 0.3)},
         ("positivity_floor", "scene_prior")),
    Case(scenes.make_scene_world, {"effect": ("person", "cup", 0.3)}, ("effect",), kinds=("type", "empty"),
         target="causal_lessons.confounders.scenes.make_scene_world"),
    Case(lambda n, seed: WORLD.sample(n, seed), {"n": 10, "seed": 0}, ("n", "seed"),
         target="causal_lessons.confounders.scenes.SceneWorld"),
    Case(lambda y, x: WORLD.p_y_do(y, x), {"y": "cup", "x": "person"}, ("y", "x"), kinds=("type",),
         message={"y": "object", "x": "object"}, target="causal_lessons.confounders.scenes.SceneWorld"),
    Case(scenes.select_photos, {"labels": LABELS, "a": 0, "b": 1, "keep_both": 0.1},
         ("labels", "a", "b", "keep_both")),
    # vcrcnn
    Case(vcrcnn.confounder_dictionary, {"features": torch.randn(4, 2), "labels": torch.tensor(LABELS)},
         ("features", "labels")),
    Case(vcrcnn.nwgm, {"probabilities": torch.full((3, 2), 0.5), "weights": PRIOR},
         ("probabilities", "weights")),
    Case(vcrcnn.VCIntervention, {"feature_dim": 4, "dictionary": DICTIONARY, "prior": PRIOR, "n_classes": 2},
         ("feature_dim", "dictionary", "prior", "n_classes")),
    Case(lambda x: VC(x), {"x": torch.randn(5, 4)}, ("x",), target="causal_lessons.confounders.vcrcnn.VCIntervention"),
    Case(vcrcnn.NWGMIntervention, {"feature_dim": 4, "dictionary": DICTIONARY, "prior": PRIOR, "n_classes": 2},
         ("feature_dim", "dictionary", "prior", "n_classes")),
    Case(lambda x: NWGM_CONTROL(x), {"x": torch.randn(5, 4)}, ("x",),
         target="causal_lessons.confounders.vcrcnn.NWGMIntervention"),
    Case(vcrcnn.approximation_errors, {"model": VC, "x": torch.randn(5, 4)}, ("model", "x")),
    Case(vcrcnn.fit, {"model": VC, "x": torch.randn(8, 4), "target": torch.tensor([0, 1] * 4), "steps": 1},
         ("model", "x", "target", "steps")),
    # coloured images and the lab
    Case(coloured_images.confounded_colours, {"y": torch.tensor([0, 1, 2]), "agreement": 0.9, "n_colours": 4},
         ("y", "agreement", "n_colours")),
    Case(coloured_images.colourise, {"shapes": torch.rand(2, 4, 4), "colours": torch.tensor([0, 1]),
                                     "where": "background"}, ("shapes", "colours", "where")),
    Case(context_shortcut.make_context_images, {"n": 8, "bias": 0.9, "seed": 0, "noise": 0.2},
         ("n", "bias", "seed", "noise")),
    Case(context_shortcut.ipw_weights, {"y": torch.tensor([0, 0, 1, 1]), "z": torch.tensor([0, 1, 1, 1])},
         ("y", "z")),
    Case(context_shortcut.SmallCNN, {"channels": 4, "n_classes": 4}, ("channels", "n_classes")),
    Case(context_shortcut.n_parameters, {"model": MODEL}, ("model",), kinds=("type",)),
    Case(context_shortcut.train_classifier, {"data": IMAGES, "weights": torch.ones(16), "steps": 1,
                                             "batch_size": 4, "lr": 1e-3}, ("data", "weights", "steps",
                                                                            "batch_size", "lr")),
    Case(context_shortcut.accuracy, {"model": MODEL, "data": IMAGES}, ("model", "data"), kinds=("type",)),
    Case(context_shortcut.colour_reading, {"model": MODEL, "data": IMAGES}, ("model", "data"), kinds=("type",)),
    Case(context_shortcut.context_experiment, {"n_train": 16, "bias": 0.9, "seeds": [0], "steps": 1,
                                               "batch_size": 4, "n_test": 8, "progress": False},
         ("n_train", "bias", "seeds", "steps", "batch_size", "n_test")),
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=("type",)),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=("type",)),
    # diagrams, explorers, claims
    Case(dags.object_strata_dag, {"x": "hair drier", "y": "sink", "z": "z"}, ("x", "y", "z"), kinds=("type",)),
    Case(dags.scene_dag, {"objects": ["toilet", "sink"], "scene": "scene"}, ("objects", "scene"),
         kinds=("type", "empty")),
    Case(dags.selection_dag, {"x": "toilet", "y": "person"}, ("x", "y"), kinds=("type",)),
    Case(dags.context_dag, {"intervened": False}, ("intervened",), kinds=("type",)),
    Case(explorers.stratum_panel, {"labels": LABELS, "y": 1, "x": 0, "top": 3}, ("labels", "y", "x", "top")),
    Case(explorers.plot_strata, {"table": TABLE, "title": "t", "top": 3}, ("table", "title", "top")),
    Case(explorers.stratum_explorer, {"labels": LABELS}, ("labels",)),
    Case(claims.claims, {"results": None}, ("results",), kinds=("type",)),
    Case(claims.measure_settings, {"at": "quick"}, ("at",), kinds=("type",)),
    Case(claims.reproduces, {"value": 0.3985, "published": 0.39, "what": "p"}, ("value", "published")),
]

EXEMPT = {
    "causal_lessons.confounders.claims.measure": "no arguments (sizes come from runtime)",
    "causal_lessons.confounders.claims.PairResult": "a record made by measure()",
    "causal_lessons.confounders.claims.SceneResults": "a record made by measure()",
    "causal_lessons.confounders.claims.NWGMResults": "a record made by measure()",
    "causal_lessons.confounders.claims.ConfounderResults": "a record made by measure()",
    "causal_lessons.confounders.context_shortcut.ContextImages": "a record made by make_context_images()",
    "causal_lessons.confounders.lab.LabSettings": "a record made by settings()",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_confounders_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


def test_nan_in_the_strata_is_an_error_not_a_stratum():
    # Before the fix, a NaN in z became a stratum of its own and backdoor returned a number.
    with pytest.raises(ValueError, match="z must not hold NaN"):
        cooccurrence.backdoor([1, 0, 1, 0], [1, 0, 0, 1], [0.0, 0.0, np.nan, np.nan])
    with pytest.raises(ValueError, match="z must not hold NaN or None"):
        cooccurrence.backdoor([1, 0, 1, 0], [1, 0, 0, 1], np.array(["a", "a", None, "b"], dtype=object))
    with pytest.raises(ValueError, match="strata must not hold NaN"):
        cooccurrence.backdoor_matrix(LABELS, [0.0, np.nan, 1.0, 1.0])
