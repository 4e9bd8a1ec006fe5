"""Bad input to chapter 3's public functions raises a clear error naming the argument (see tests/bad_input.py).

Where ``kinds`` leaves out a spoiler, the comment says why that input is valid for the function.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from bad_input import Case, check_case, params

from causal_lessons.claims import Interval
from causal_lessons.equivariance import claims, disentangle, fitted, group_conv, groups, lab, rotated_digits
from causal_lessons.equivariance.group_conv import C4_ON_IMAGES, C4_ON_LIFTED, D4

GC = "causal_lessons.equivariance.group_conv"
IMAGES = torch.rand(4, 1, 9, 9)
LABELS = torch.tensor([6, 9, 1, 2])
TINY = rotated_digits.make_model("G-CNN (C4)", 2).eval()
RUNS = pd.DataFrame({"seed": [0, 0], "size": [10, 10], "model": ["CNN", "G-CNN (C4)"],
                     "upright test": [0.9, 0.8], "rotated test": [0.3, 0.8]})
RUNS_FULL = RUNS.assign(parameters=50, steps=9, **{"best step": 9, "agreement": 0.5})
FEATURES = pd.DataFrame({"seed": [0], "model": ["CNN"], "layer": [1], "fixed": [1.0], "fitted": [0.5]})
RESULTS = claims.EquivarianceResults(lab.settings("quick"), None, 0.0, None, RUNS, FEATURES, None, None, {}, None,
                                     None)
TWO_CNNS = claims.EquivarianceResults(None, None, 0.0, None, None, pd.concat(
    [FEATURES, FEATURES.assign(model="CNN + rotation augmentation", fitted=0.4)]), None, None, {}, None, None)
STACK = [rotated_digits.make_model("CNN", 2) for _ in range(2)]


def lifting(cls, *args):
    return lambda x: cls(*args)(x)


CASES = [
    # A group acting on pixels is valid for NaN, empty and batched tensors alike: only the type is checked.
    Case(lambda g, x: groups.CyclicRotations().act(g, x), {"g": 1, "x": torch.rand(3, 3)}, ("x",),
         target="causal_lessons.equivariance.groups.CyclicRotations", kinds=("type",)),
    Case(lambda g, x: groups.CyclicRotations().act(g, x), {"g": 1, "x": torch.rand(3, 3)}, ("g",),
         target="causal_lessons.equivariance.groups.CyclicRotations", kinds=("nan", "type")),
    Case(lambda g, x: groups.Dihedral().act(g, x), {"g": (1, 2), "x": torch.rand(3, 3)}, ("g", "x"),
         target="causal_lessons.equivariance.groups.Dihedral", kinds=("type",)),
    Case(lambda height, width: groups.CyclicTranslations(height, width), {"height": 3, "width": 4},
         ("height", "width"), target="causal_lessons.equivariance.groups.CyclicTranslations", kinds=("nan", "type")),
    Case(groups.cayley_table, {"group": D4}, ("group",), kinds=("type",)),
    Case(groups.regular_representation, {"group": D4}, ("group",), kinds=("type",)),
    Case(groups.check_group, {"group": D4}, ("group",), kinds=("type",)),
    Case(group_conv.axis_permutations, {"group": D4}, ("group",), kinds=("type",)),
    Case(group_conv.regular_action, {"group": D4}, ("group",), kinds=("type",)),
    Case(group_conv.trivial_action, {"group": D4}, ("group",), kinds=("type",)),
    Case(group_conv.check_tensor, {"x": torch.rand(2, 3), "name": "x", "rank": 2}, ("x",)),
    Case(group_conv.equivariance_error, {"f": group_conv.LiftingConvC4(1, 2), "x": IMAGES, "act_in": C4_ON_IMAGES,
                                         "act_out": C4_ON_LIFTED}, ("f", "x", "act_in", "act_out"),
         kinds=("nan", "inf", "empty", "shape", "type")),
    # Pooling takes any leading shape, so an extra leading axis is valid.
    Case(group_conv.pool_grid, {"x": torch.rand(2, 3, 4, 9, 9)}, ("x",), kinds=("nan", "inf", "empty", "type")),
    Case(lifting(group_conv.LiftingConv, D4, 1, 2), {"x": IMAGES}, ("x",), target=f"{GC}.LiftingConv"),
    Case(lambda in_channels, out_channels: group_conv.LiftingConv(D4, in_channels, out_channels),
         {"in_channels": 1, "out_channels": 2}, ("in_channels", "out_channels"), target=f"{GC}.LiftingConv",
         kinds=("nan", "type")),
    Case(lifting(group_conv.GroupConv, D4, 2, 2), {"x": torch.rand(2, 2, 8, 5, 5)}, ("x",),
         target=f"{GC}.GroupConv"),
    Case(lifting(group_conv.LiftingConvC4, 1, 2), {"x": IMAGES}, ("x",), target=f"{GC}.LiftingConvC4"),
    Case(lifting(group_conv.GroupConvC4, 2, 2), {"x": torch.rand(2, 2, 4, 5, 5)}, ("x",),
         target=f"{GC}.GroupConvC4"),
    Case(lifting(group_conv.LiftingConvD4, 1, 2), {"x": IMAGES}, ("x",), target=f"{GC}.LiftingConvD4"),
    Case(lifting(group_conv.GroupConvD4, 2, 2), {"x": torch.rand(2, 2, 8, 5, 5)}, ("x",),
         target=f"{GC}.GroupConvD4"),
    Case(lifting(group_conv.InvariantCNN, D4, 1, 10, 2), {"x": IMAGES}, ("x",), target=f"{GC}.InvariantCNN"),
    Case(lifting(group_conv.C4InvariantCNN, 1, 10, 2), {"x": IMAGES}, ("x",), target=f"{GC}.C4InvariantCNN"),
    Case(lifting(group_conv.D4InvariantCNN, 1, 10, 2), {"x": IMAGES}, ("x",), target=f"{GC}.D4InvariantCNN"),
    Case(lambda depth: group_conv.C4InvariantCNN(1, 10, 2, depth), {"depth": 2}, ("depth",),
         target=f"{GC}.C4InvariantCNN", kinds=("nan", "type")),
    Case(lifting(group_conv.PlainCNN, 1, 10, 4), {"x": IMAGES}, ("x",), target=f"{GC}.PlainCNN"),
    Case(lambda width: group_conv.PlainCNN(1, 10, width), {"width": 4}, ("width",), target=f"{GC}.PlainCNN",
         kinds=("nan", "type")),
    Case(group_conv.parameter_count, {"model": TINY}, ("model",), kinds=("type",)),
    Case(group_conv.strided_equivariance_error, {"size": 9, "stride": 2, "seed": 0}, ("size", "stride", "seed"),
         kinds=("nan", "inf", "type")),
    Case(fitted.channel_map, {"f": group_conv.LiftingConvC4(1, 2), "x": IMAGES, "action": C4_ON_IMAGES, "g": 1,
                              "ridge": 1e-6}, ("x", "action", "g", "ridge")),
    Case(fitted.fitted_equivariance_error, {"f": group_conv.LiftingConvC4(1, 2), "x_fit": IMAGES, "x_test": IMAGES,
                                            "action": C4_ON_IMAGES}, ("f", "x_fit", "x_test", "action"),
         kinds=("nan", "inf", "empty", "shape", "type")),
    Case(fitted.fit_map, {"source": torch.rand(3, 2, 4, 4), "target": torch.rand(3, 2, 4, 4)}, ("source", "target")),
    # The matrix of a map may hold any numbers; only its type and the maps are checked.
    Case(fitted.map_error, {"m": torch.eye(2, dtype=torch.float64), "source": torch.rand(3, 2, 4, 4),
                            "target": torch.rand(3, 2, 4, 4)}, ("m", "source", "target")),
    Case(disentangle.act, {"factor": "colour", "state": (1, 2, 3), "steps": 1}, ("factor", "state", "steps")),
    Case(disentangle.render, {"states": [(0, 1, 2), (3, 2, 1)]}, ("states",)),
    Case(disentangle.disentangled_encoder, {"images": disentangle.render([(0, 1, 2)])}, ("images",)),
    Case(disentangle.entangled_encoder, {"images": disentangle.render([(0, 1, 2)]), "seed": 0}, ("images", "seed")),
    Case(disentangle.leakage, {"encoder": disentangle.disentangled_encoder, "blocks": dict(disentangle.BLOCKS),
                               "states": [(0, 1, 2), (3, 2, 1)]}, ("encoder", "blocks", "states")),
    Case(disentangle.subspace_leakage, {"encoder": disentangle.disentangled_encoder,
                                        "dims": {"glyph": 2, "colour": 2, "rotation": 2},
                                        "states": [(0, 1, 2), (3, 2, 1), (1, 0, 3)]}, ("encoder", "dims", "states")),
    Case(disentangle.oblique_leakage, {"encoder": disentangle.disentangled_encoder,
                                       "dims": {"glyph": 2, "colour": 2, "rotation": 2},
                                       "states": [(0, 1, 2), (3, 2, 1), (1, 0, 3)]}, ("encoder", "dims", "states")),
    Case(disentangle.coordinate_leakage, {"encoder": disentangle.disentangled_encoder,
                                          "states": [(0, 1, 2), (3, 2, 1), (1, 0, 3)]}, ("encoder", "states")),
    Case(rotated_digits.digit_images, {"side": 9}, ("side",), kinds=("nan", "inf", "type")),
    Case(rotated_digits.rotate_randomly, {"images": IMAGES, "seed": 0}, ("images", "seed")),
    Case(rotated_digits.orbit, {"images": IMAGES}, ("images",)),
    Case(rotated_digits.make_model, {"name": "CNN", "width": 4, "depth": 2}, ("name", "width", "depth")),
    Case(rotated_digits.matched_widths, {"parameters": 800, "depth": 2}, ("parameters", "depth")),
    Case(rotated_digits.train, {"model": TINY, "images": IMAGES, "labels": LABELS, "val_images": IMAGES,
                                "val_labels": LABELS, "steps": 1},
         ("model", "images", "labels", "val_images", "val_labels", "steps")),
    Case(rotated_digits.accuracy, {"model": TINY, "images": IMAGES, "labels": LABELS}, ("model", "images", "labels")),
    Case(rotated_digits.orbit_scores, {"model": TINY, "images": IMAGES, "labels": LABELS},
         ("model", "images", "labels")),
    Case(rotated_digits.split, {"n": 100, "size": 50, "n_val": 20, "n_test": 30, "seed": 0},
         ("n", "size", "n_val", "n_test", "seed")),
    Case(rotated_digits.compare, {"sizes": [20], "seeds": [0], "parameters": 800, "steps": 1},
         ("sizes", "seeds", "parameters", "steps")),
    Case(rotated_digits.layer_errors, {"model": TINY, "x_fit": IMAGES, "x_test": IMAGES},
         ("model", "x_fit", "x_test")),
    Case(rotated_digits.upside_down_reading, {"model": TINY, "images": IMAGES, "labels": LABELS},
         ("model", "images", "labels")),
    Case(rotated_digits.plus_minus, {"mean": 0.5, "sd": 0.1}, ("mean",), kinds=("nan", "inf", "type")),
    # A NaN standard deviation is one seed's (the smoke size), shown as the mean alone.
    Case(rotated_digits.plus_minus, {"mean": 0.5, "sd": 0.1}, ("sd",), kinds=("inf", "type")),
    Case(rotated_digits.summary, {"runs": RUNS_FULL}, ("runs",), kinds=("nan", "empty", "type")),
    Case(rotated_digits.summary_text, {"runs": RUNS_FULL}, ("runs",), kinds=("nan", "empty", "type")),
    Case(rotated_digits.mean_curves, {"results": RUNS}, ("results",)),
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=("type",)),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=("type",)),
    Case(lab.step_flops, {"config": lab.settings("quick")}, ("config",), kinds=("type",)),
    Case(claims.measure, {"config": lab.settings("quick")}, ("config",), kinds=("type",)),
    Case(claims.differences, {"results": RESULTS, "column": "rotated test", "a": "CNN", "b": "G-CNN (C4)"},
         ("results", "column", "a", "b"), kinds=("type",)),
    Case(claims.last_layer, {"results": RESULTS, "model": "CNN", "column": "fitted"}, ("results", "model", "column"),
         kinds=("type",)),
    Case(claims.claims, {"results": RESULTS}, ("results",), kinds=("type",)),
    Case(claims.layer_reductions, {"results": TWO_CNNS}, ("results",), kinds=("type",)),
    Case(lab.matched_steps, {"config": lab.settings("quick")}, ("config",), kinds=("type",)),
    Case(lab.aug_matched_steps, {"config": lab.settings("quick")}, ("config",), kinds=("type",)),
    Case(rotated_digits.stacked_logits, {"models": STACK, "x": torch.rand(2, 3, 1, 9, 9)}, ("models", "x")),
    Case(rotated_digits.train_seeds, {"models": STACK, "images": IMAGES, "labels": LABELS,
                                      "train_sets": [torch.arange(2), torch.arange(2, 4)],
                                      "val_sets": [torch.arange(4)] * 2, "seeds": [0, 1], "steps": 1},
         ("models", "images", "labels", "seeds", "steps"), kinds=("nan", "inf", "empty", "type")),
    Case(disentangle.learned_leakage, {"n_states": 12, "seeds": [0, 1], "steps": 1},
         ("n_states", "seeds", "steps"), kinds=("nan", "inf", "empty", "type")),
    Case(claims.seed_interval, {"values": [0.5, 0.6, 0.7]}, ("values",)),
    Case(claims.difference_text, {"estimate": Interval(0.1, 0.0, 0.2), "a": "a", "b": "b", "what": "accuracy"},
         ("estimate", "a", "b", "what"), kinds=("type",)),
]

EXEMPT = {
    "causal_lessons.equivariance.groups.Group": "a typing protocol, not called",
    "causal_lessons.equivariance.group_conv.Action": "a record of a group and a function; every function taking "
                                                     "one checks its type",
    "causal_lessons.equivariance.disentangle.all_states": "no arguments",
    "causal_lessons.equivariance.rotated_digits.load_digit_images": "no arguments",
    "causal_lessons.equivariance.rotated_digits.Trained": "a record returned by train",
    "causal_lessons.equivariance.rotated_digits.Comparison": "a record returned by compare",
    "causal_lessons.equivariance.lab.Settings": "a record returned by settings",
    "causal_lessons.equivariance.claims.EquivarianceResults": "a record returned by measure",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_equivariance_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


def test_overlapping_blocks_are_refused():
    blocks = {"glyph": [0, 1], "colour": [1, 2], "rotation": [4, 5]}
    with pytest.raises(ValueError, match="disjoint"):
        disentangle.leakage(disentangle.disentangled_encoder, blocks)
    with pytest.raises(ValueError, match="index the encoder's code"):
        disentangle.leakage(disentangle.disentangled_encoder, {"glyph": [0], "colour": [1], "rotation": [9]})


def test_equivariance_error_refuses_nan():
    x = torch.rand(1, 1, 5, 5)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must hold only finite"):
        group_conv.equivariance_error(lambda t: t, x, C4_ON_IMAGES, C4_ON_IMAGES)


def test_wrong_input_channels_are_named():
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, H, W\) \(in_channels = 3\)"):
        group_conv.LiftingConvC4(3, 2)(IMAGES)
