"""Bad input to chapter 4's public functions raises a clear error naming the argument (harness: tests/bad_input.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from bad_input import Case, check_case, params

from causal_lessons.context import claims, experiment, figures, inference, lab, penalty, training
from causal_lessons.context import coloured_digits as cd

_z = torch.tensor([1.5, -0.5, 0.2, -2.0, 0.7])
_y = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0])
_data = cd.coloured_digits(seed=0)
_env = _data.test
_shapes, _digits = _data.test.images.sum(1, keepdim=True)[:6], _data.test.digit[:6]
_quick = lab.settings("quick")
_curves = pd.DataFrame({"step": [0, 1], "train accuracy": [0.5, 0.8], "test accuracy": [0.5, 0.3],
                        "penalty": [1e-3, 1e-2], "method": ["ERM", "ERM"]})
_PREFIX = "causal_lessons.context"

CASES = [
    Case(claims.interior_pick, {"finding": claims.Finding("x = 0.6", "x > 0.5", "holds"), "picked": [100],
                                "grid": (50, 100, 150)}, ("finding",), kinds=("type",)),
    Case(penalty.irmv1_penalty, {"logits": _z, "y": _y}, ("logits", "y")),
    Case(penalty.irmv1_penalty_closed_form, {"logits": _z, "y": _y}, ("logits", "y")),
    Case(penalty.example_gradients, {"logits": _z, "y": _y}, ("logits", "y")),
    Case(inference.eiil_objective, {"assignment": torch.full((5,), 0.5), "logits": _z, "y": _y},
         ("assignment", "logits", "y")),
    Case(inference.infer_environments, {"logits": _z, "y": _y, "steps": 3}, ("logits", "y", "steps")),
    Case(inference.infer_environments, {"logits": _z, "y": _y, "steps": 3, "seed": 0}, ("seed",),
         kinds=("type", "negative")),
    Case(inference.infer_many, {"logits": [_z, _z], "ys": [_y, _y], "steps": 3, "seeds": [0, 1]},
         ("logits", "ys", "steps", "seeds"), kinds=("type", "empty")),
    Case(inference.colour_only_logits, {"env": _env}, ("env",), kinds=("type",)),
    Case(inference.best_split, {"logits": _z, "y": _y}, ("logits", "y")),
    Case(inference.split_environment, {"env": _env, "assignment": _env.colour_agrees.float()},
         ("env", "assignment")),
    Case(inference.partition_agreement, {"inferred": torch.tensor([1, 0, 1]), "truth": torch.tensor([1, 1, 0])},
         ("inferred", "truth")),
    Case(inference.partition_kappa, {"inferred": torch.tensor([1, 0, 1]), "truth": torch.tensor([1, 1, 0])},
         ("inferred", "truth")),
    Case(claims.seed_interval, {"values": [0.5, 0.6, 0.7]}, ("values",)),
    Case(cd.make_environment, {"shapes": _shapes, "digits": _digits, "agreement": 0.9},
         ("shapes", "digits", "agreement")),
    Case(cd.random_shifts, {"images": _shapes, "copies": 2}, ("images", "copies")),
    Case(cd.coloured_digits, {"seed": 0, "agreements": [0.9, 0.8], "noise": 0.25, "n_test": 597},
         ("seed", "agreements", "noise", "n_test")),
    Case(cd.coloured_digits, {"disjoint": True}, ("disjoint",), kinds=("type",)),
    Case(cd.pool, {"envs": [_env, _env]}, ("envs",)),
    Case(cd.remove_colour, {"env": _env}, ("env",), kinds=("type",)),
    Case(cd.environments_dag, {"irm": True}, ("irm",), kinds=("type",)),
    Case(lambda images: training.MLP(4)(images), {"images": torch.zeros(2, 2, 17, 17)}, ("images",),
         target=f"{_PREFIX}.training.MLP", kinds=("shape", "type")),
    Case(lambda hidden: training.MLP(hidden), {"hidden": 4}, ("hidden",), target=f"{_PREFIX}.training.MLP",
         kinds=("type",)),
    Case(training.n_parameters, {"model": torch.nn.Linear(2, 2)}, ("model",), kinds=("type",)),
    Case(training.accuracy, {"model": training.MLP(4), "env": _env}, ("model", "env"), kinds=("type",)),
    Case(training.logits_of, {"model": training.MLP(4), "env": _env}, ("model", "env"), kinds=("type",)),
    Case(training.train, {"envs": list(_data.train), "steps": 1, "hidden": 4, "penalty_weight": 1.0},
         ("envs", "steps", "penalty_weight")),
    Case(training.train_many, {"tasks": [training.Task(_data.train)], "steps": 1, "hidden": 4},
         ("tasks", "steps", "hidden"), kinds=("type", "empty", "negative")),
    Case(training.Task, {"envs": list(_data.train), "penalty_weight": 1.0, "anneal_step": 0, "seed": 0},
         ("envs", "penalty_weight", "anneal_step", "seed")),
    Case(lambda penalty_weight, seeds: experiment.Settings(seeds, 1, 4, 1, 0, penalty_weight, 1e-3, 1e-3, 1,
                                                            0.01, 0),
         {"penalty_weight": 10.0, "seeds": (0, 1)}, ("penalty_weight", "seeds"),
         target=f"{_PREFIX}.experiment.Settings"),
    Case(experiment.holdout_mask, {"n": 10, "share": 0.2, "seed": 0}, ("n", "seed"), kinds=("type", "negative")),
    Case(experiment.holdout_mask, {"n": 10, "share": 0.2, "seed": 0}, ("share",), kinds=("nan", "inf", "type")),
    Case(claims.reproduced, {"estimate": claims.Interval(0.5, 0.4, 0.6), "target": 0.67, "tolerance": 0.05,
                             "what": "accuracy"}, ("estimate", "target", "tolerance"), kinds=("nan", "inf", "type")),
    Case(claims.data_text, {"s": _quick}, ("s",), kinds=("type",)),
    Case(claims.setup_text, {"s": _quick}, ("s",), kinds=("type",)),
    Case(experiment.run_seeds, {"seeds": [0], "settings": _quick}, ("seeds", "settings"), kinds=("type",)),
    Case(lab.settings, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(lab.job, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(claims.measure, {"at": "quick"}, ("at",), kinds=("type",), message={"at": "size"}),
    Case(claims.claims, {"results": None}, ("results",), kinds=("type",)),
    Case(claims.summary, {"results": None}, ("results",), kinds=("type",)),
    Case(figures.show_examples, {"data": _data, "n": 2}, ("data", "n"), kinds=("type",)),
    Case(figures.plot_accuracies, {"accuracies": {"ERM": [0.2, 0.3]}}, ("accuracies",), kinds=("type",)),
    Case(figures.plot_curves, {"curves": _curves}, ("curves",), kinds=("empty", "type")),
    Case(figures.plot_partition, {"assignment": torch.tensor([0.9, 0.1]), "reference_logits": torch.tensor(
        [1.0, -1.0]), "y": torch.tensor([0.0, 0.0]), "colour_agrees": torch.tensor([False, True])},
         ("assignment", "reference_logits", "y", "colour_agrees")),
]

EXEMPT = {
    f"{_PREFIX}.coloured_digits.Environment": "a record of tensors made by make_environment, which checks them",
    f"{_PREFIX}.coloured_digits.ColouredDigits": "a record of environments made by coloured_digits",
    f"{_PREFIX}.experiment.SeedRun": "a record of results made by run_seed",
    f"{_PREFIX}.claims.ContextResults": "a record of results made by measure",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_context_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)
