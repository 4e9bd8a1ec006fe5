"""Chapter 3's rows of the claim check, measured once by :func:`measure` and judged by :func:`claims`.

:func:`measure` runs the rotated-digits comparison of :mod:`~causal_lessons.equivariance.rotated_digits` at the
lab's settings (:func:`causal_lessons.equivariance.lab.settings`), with the augmented CNN also trained at the
:math:`C_4` G-CNN's compute, measures every trained network's features (equivariance error with the representation fixed and
fitted), trains codes of the glyph x colour x rotation world on more and more of its states
(:func:`~causal_lessons.equivariance.disentangle.learned_leakage`), and checks the exactness of the group
convolutions (an implementation check shown on the page, not a claim row); the chapter page, its lab and the
appendix read the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from .. import runtime
from .._checks import as_1d_float
from ..claims import Claim, Interval, above, below, cached, course, make_claim, over_seeds, provided, talk, within
from ..formatting import number
from .disentangle import learned_leakage
from .group_conv import (
    C4_ON_IMAGES,
    C4_ON_LIFTED,
    D4_ON_IMAGES,
    D4_ON_LIFTED,
    GroupConv,
    LiftingConv,
    equivariance_error,
    strided_equivariance_error,
)
from .lab import Settings, aug_matched_steps, settings, step_flops
from .rotated_digits import (
    AUG_MATCHED,
    MODELS,
    compare,
    digit_images,
    layer_errors,
    make_model,
    matched_widths,
    split,
    upside_down_reading,
)

CHAPTER = "equivariance"
#: The untrained baseline of the feature measurements.
UNTRAINED = "CNN, untrained"
#: Seeds on which the untrained CNN's and the G-CNNs' features are measured (context, not a claim).
FEATURE_SEEDS = 3


@dataclass(frozen=True)
class EquivarianceResults:
    """What chapter 3 measures.

    Attributes
    ----------
    settings
        The experiment's sizes (:class:`~causal_lessons.equivariance.lab.Settings`).
    exactness
        Relative equivariance error of random lifting and group convolutions: one row per group, layer and
        dtype.
    plain_conv_error
        The same error for a plain ``Conv2d`` (float32).
    strided
        Equivariance error of a lifting convolution subsampled with stride 2, per grid size.
    runs
        :attr:`~causal_lessons.equivariance.rotated_digits.Comparison.runs`: one row per seed, size and model
        (:data:`~causal_lessons.equivariance.rotated_digits.AUG_MATCHED` is the augmented CNN at the
        :math:`C_4` G-CNN's compute).
    features
        Per seed, model and layer (largest training-set size): the equivariance error with the representation
        fixed (``fixed``) and fitted by least squares (``fitted``; channel maps fitted on the validation digits),
        on the test digits; the two CNNs on every seed, the untrained CNN and the G-CNNs on the first
        :data:`FEATURE_SEEDS`.
    upside_down
        Per seed and model: the 6s and 9s of the test digits turned upside down (``n``) and how many the model
        reads as the other digit (``other``).
    leakage
        Per seed and number of world states trained on: the leakage of the learned code in Higgins et al.'s
        sense (``leakage``, :func:`~causal_lessons.equivariance.disentangle.oblique_leakage`) and in the sense
        of coordinates (``coordinate``, :func:`~causal_lessons.equivariance.disentangle.coordinate_leakage`).
    models
        The first seed's trained networks at the largest size, by model name.
    val, test
        The first seed's validation and test digits (indices into
        :func:`~causal_lessons.equivariance.rotated_digits.digit_images` at ``settings.side``).
    """

    settings: Settings
    exactness: pd.DataFrame
    plain_conv_error: float
    strided: pd.DataFrame
    runs: pd.DataFrame
    features: pd.DataFrame
    upside_down: pd.DataFrame
    leakage: pd.DataFrame
    models: dict[str, nn.Module]
    val: torch.Tensor
    test: torch.Tensor


def _exactness(seed: int = 0) -> pd.DataFrame:
    """Relative equivariance error of random lifting and group convolutions of each group, float32 and float64."""
    rows = []
    for name, on_images, on_lifted in (("C4", C4_ON_IMAGES, C4_ON_LIFTED), ("D4", D4_ON_IMAGES, D4_ON_LIFTED)):
        torch.manual_seed(seed)
        lift, conv = LiftingConv(on_images.group, 3, 4, 5), GroupConv(on_images.group, 4, 6, 3)
        x = torch.randn(4, 3, 15, 15)
        for dtype in (torch.float32, torch.float64):
            layers = {"lifting": lift.to(dtype), "lifting + group conv": nn.Sequential(lift, conv.to(dtype))}
            for what, f in layers.items():
                rows.append({"group": name, "layers": what, "dtype": str(dtype).removeprefix("torch."),
                             "error": equivariance_error(f, x.to(dtype), on_images, on_lifted)})
    return pd.DataFrame(rows)


def _seed_features(seed: int, nets: dict[str, nn.Module], s: Settings, width: int) -> tuple[list[dict], list[dict]]:
    """One seed's feature measurements (:func:`measure`): the layer errors and the upside-down reading of its
    networks, and of an untrained CNN."""
    images, labels = digit_images(s.side)
    # Channel maps are fitted on the seed's validation digits and the error is measured on its test digits.
    _, val, test = split(len(images), max(s.sizes), s.n_val, s.n_test, seed)
    torch.manual_seed(seed)
    nets = {UNTRAINED: make_model("CNN", width, s.depth).eval(), **nets}
    features, upside_down = [], []
    for name, net in nets.items():
        # The claim compares the two CNNs on every seed; the untrained CNN and the G-CNNs (equivariant by
        # construction) are shown on the first FEATURE_SEEDS seeds only, for context.
        if name in MODELS[:2] or seed in s.seeds[:FEATURE_SEEDS]:
            table = layer_errors(net, images[val], images[test])
            features += [{"seed": seed, "model": name, **row} for row in table.to_dict("records")]
        if name != UNTRAINED:
            upside_down.append({"seed": seed, "model": name, **upside_down_reading(net, images[test], labels[test])})
    return features, upside_down


@cached
def measure(config: Settings | None = None) -> EquivarianceResults:
    """Run chapter 3's measurements at ``config`` (default: the lab's settings at the selected size).

    Examples
    --------
    >>> from dataclasses import replace
    >>> tiny = replace(settings("quick"), parameters=800, sizes=(30,), seeds=(0, 1), steps=3, n_test=40, workers=1,
    ...                code_steps=2)
    >>> res = measure(tiny)
    >>> float(res.exactness["error"].max()) < 1e-5, sorted(res.runs["model"].unique())[0]
    (True, 'CNN')
    """
    s = settings() if config is None else config
    if not isinstance(s, Settings):
        raise TypeError(f"config must be lab.Settings (see lab.settings()), got {type(s).__name__}")
    torch.manual_seed(0)
    plain = equivariance_error(nn.Conv2d(3, 24, 5, padding=2), torch.randn(4, 3, 15, 15), C4_ON_IMAGES,
                               C4_ON_IMAGES)
    strided = pd.DataFrame({"grid size": list(range(8, 18))})
    strided["error"] = [strided_equivariance_error(n) for n in strided["grid size"]]
    device = runtime.get_device()
    comparison = compare(list(s.sizes), list(s.seeds), s.parameters, s.steps, side=s.side, depth=s.depth,
                         batch_size=s.batch_size, lr=s.lr, eval_every=s.eval_every, n_val=s.n_val,
                         n_test=s.n_test, device=device, workers=s.workers if device.type == "cpu" else 1,
                         progress=runtime.size() == "full",  # a bar for the long GPU run only
                         aug_matched_steps=aug_matched_steps(s))
    width = matched_widths(s.parameters, s.depth)["CNN"]
    jobs = [(seed, {name: net for (k, name), net in comparison.models.items() if k == seed and name in MODELS})
            for seed in s.seeds]
    # Independent tasks: each seed's feature measurements and each size's learned codes.
    tasks = [(_seed_features, (seed, nets, s, width)) for seed, nets in jobs]
    tasks += [(learned_leakage, (n, list(s.seeds), s.code_steps)) for n in s.world_states]
    workers = s.workers if device.type == "cpu" else 1
    if workers > 1:  # the same processes as the training (one thread each)
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=workers)(delayed(task)(*args) for task, args in tasks)
    else:
        done = [task(*args) for task, args in tasks]
    per_seed, per_size = done[:len(jobs)], done[len(jobs):]
    features = [row for rows, _ in per_seed for row in rows]
    upside_down = [row for _, rows in per_seed for row in rows]
    leaks = [{"seed": seed, "states": n, "leakage": value["oblique"], "coordinate": value["coordinate"]}
             for n, values in zip(s.world_states, per_size, strict=True)
             for seed, value in zip(s.seeds, values, strict=True)]
    images, _ = digit_images(s.side)
    first = s.seeds[0]
    _, val, test = split(len(images), max(s.sizes), s.n_val, s.n_test, first)
    return EquivarianceResults(
        s, _exactness(), plain, strided, comparison.runs, pd.DataFrame(features), pd.DataFrame(upside_down),
        pd.DataFrame(leaks), {name: net for (k, name), net in comparison.models.items() if k == first}, val, test)


def _check_results(results: object) -> EquivarianceResults:
    if not isinstance(results, EquivarianceResults):
        raise TypeError(f"results must be what measure() returns, got {type(results).__name__}")
    return results


def seed_interval(values: Sequence[float]) -> Interval:
    """The mean over seeds with its t interval (:func:`~causal_lessons.claims.over_seeds`); a single seed, at the
    smoke size, has no interval and is returned as it is.

    Examples
    --------
    >>> seed_interval([0.5, 0.7, 0.6]).text(2), seed_interval([0.5]).text(2)
    ('0.60 (95% CI 0.35 to 0.85)', '0.50 (1 seed)')
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
        raise ValueError(f"values must be a non-empty sequence of numbers, got {values!r}")
    if len(values) > 1:
        return over_seeds(values)
    return Interval.exact(float(as_1d_float(values, "values")[0]), "1 seed")


def differences(results: EquivarianceResults, column: str, a: str, b: str) -> list[float]:
    """Per seed, at the largest training-set size, ``column`` of model ``a`` minus that of model ``b``.

    Examples
    --------
    >>> runs = pd.DataFrame({"seed": [0, 0, 1, 1], "size": [9] * 4, "model": ["A", "B"] * 2,
    ...                      "acc": [0.9, 0.8, 0.7, 0.75]})
    >>> res = EquivarianceResults(None, None, 0.0, None, runs, None, None, None, {}, None, None)
    >>> [round(d, 2) for d in differences(res, "acc", "A", "B")]
    [0.1, -0.05]
    """
    runs = _check_results(results).runs
    for arg, name in (("a", a), ("b", b)):
        if not isinstance(name, str) or name not in set(runs["model"]):
            raise ValueError(f"{arg} must name one of the models {sorted(set(runs['model']))}, got {name!r}")
    if not isinstance(column, str) or column not in runs.columns:
        raise ValueError(f"column must be one of {list(runs.columns)}, got {column!r}")
    at = runs[runs["size"] == runs["size"].max()].pivot(index="seed", columns="model", values=column)
    return (at[a] - at[b]).tolist()


def last_layer(results: EquivarianceResults, model: str, column: str = "fitted") -> list[float]:
    """Per seed, the last layer's equivariance error (``"fixed"`` or ``"fitted"``) of ``model``.

    Examples
    --------
    >>> feats = pd.DataFrame({"seed": [0, 0], "model": ["A", "A"], "layer": [1, 2], "fitted": [0.1, 0.3]})
    >>> last_layer(EquivarianceResults(None, None, 0.0, None, None, feats, None, None, {}, None, None), "A")
    [0.3]
    """
    feats = _check_results(results).features
    if not isinstance(model, str) or model not in set(feats["model"]):
        raise ValueError(f"model must name one of the measured models {sorted(set(feats['model']))}, got {model!r}")
    if column not in ("fixed", "fitted"):
        raise ValueError(f"column must be 'fixed' or 'fitted', got {column!r}")
    rows = feats[(feats["model"] == model) & (feats["layer"] == feats["layer"].max())]
    return rows.sort_values("seed")[column].tolist()


def layer_reductions(results: EquivarianceResults, column: str = "fitted") -> pd.DataFrame:
    """Per seed and layer, how much of the plain CNN's equivariance error (``column``: ``"fitted"``, the channel
    map fitted by least squares, or ``"fixed"``, the identity on channels) rotation augmentation removes, as a
    share of it: ``(CNN - CNN + augmentation) / CNN`` (1: augmentation made the layer equivariant, as a G-CNN is;
    0: no change; negative: further from equivariant).

    Examples
    --------
    >>> feats = pd.DataFrame({"seed": [0, 0], "model": ["CNN", "CNN + rotation augmentation"], "layer": [1, 1],
    ...                       "fitted": [0.5, 0.4]})
    >>> res = EquivarianceResults(None, None, 0.0, None, None, feats, None, None, {}, None, None)
    >>> layer_reductions(res)["reduction"].round(2).tolist()
    [0.2]
    """
    feats = _check_results(results).features
    if column not in ("fixed", "fitted"):
        raise ValueError(f"column must be 'fixed' or 'fitted', got {column!r}")
    cnn, aug = MODELS[0], MODELS[1]
    if feats is None or not {cnn, aug} <= set(feats["model"]):
        raise ValueError(f"results must hold the fitted errors of {cnn!r} and {aug!r}")
    wide = feats[feats["model"].isin([cnn, aug])].pivot(index=["seed", "layer"], columns="model", values=column)
    out = ((wide[cnn] - wide[aug]) / wide[cnn]).rename("reduction").reset_index()
    return out.sort_values(["layer", "seed"], ignore_index=True)


def difference_text(estimate: Interval, a: str, b: str, what: str, digits: int | None = None) -> str:
    """A sentence comparing ``a`` and ``b`` on ``what``, read off the interval of the difference ``a - b``: one is
    higher only when the whole interval says so. Numbers are written by :meth:`Interval.text
    <causal_lessons.claims.Interval.text>`: to ``digits`` decimals, or by default to the precision the interval
    supports, so a difference of a few thousandths reads ``0.0009 (95% CI 0.0002 to 0.0015)``, never as a long run
    of digits.

    Examples
    --------
    >>> difference_text(Interval(0.05, 0.02, 0.08), "the G-CNN", "the CNN", "rotated accuracy")
    "the G-CNN's rotated accuracy is higher than the CNN's, by 0.050 (95% CI 0.020 to 0.080)"
    >>> difference_text(Interval(-0.000855, -0.0015, -0.0002), "the D4 G-CNN", "the C4 G-CNN", "rotated accuracy")
    "the D4 G-CNN's rotated accuracy is lower than the C4 G-CNN's, by 0.0009 (95% CI 0.0002 to 0.0015)"
    >>> difference_text(Interval(0.01, -0.02, 0.04), "D4", "C4", "accuracy", 3)
    "D4's and C4's accuracy cannot be told apart: the difference is 0.010 (95% CI -0.020 to 0.040)"
    >>> difference_text(Interval(0.0, 0.0, 0.0, method="t over 3 seeds"), "D4", "C4", "accuracy")
    "D4's and C4's accuracy are equal on every seed"
    """
    if not isinstance(estimate, Interval):
        raise TypeError(f"estimate must be an Interval, got {type(estimate).__name__}")
    for name, value in (("a", a), ("b", b), ("what", what)):
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    if estimate.is_exact and estimate.value == 0:
        return f"{a}'s and {b}'s {what} are equal on every seed"
    if estimate.low > 0 or estimate.high < 0:
        side = "higher" if estimate.low > 0 else "lower"
        size = Interval(abs(estimate.value), min(abs(estimate.low), abs(estimate.high)),
                        max(abs(estimate.low), abs(estimate.high)), estimate.level, estimate.method)
        return f"{a}'s {what} is {side} than {b}'s, by {size.text(digits)}"
    return f"{a}'s and {b}'s {what} cannot be told apart: the difference is {estimate.text(digits)}"


def claims(results: EquivarianceResults | None = None) -> list[Claim]:
    """Rows for chapter 3, "Group-theoretic equivariance and disentanglement".

    Examples
    --------
    >>> from dataclasses import replace
    >>> tiny = replace(settings("quick"), parameters=800, sizes=(30,), seeds=(0, 1), steps=3, n_test=40, workers=1,
    ...                code_steps=2)
    >>> rows = claims(measure(tiny))
    >>> len(rows), rows[0].source.reference
    (5, 'T25')
    """
    res = measure() if results is None else _check_results(results)
    s, runs = res.settings, res.runs
    counts = runs.drop_duplicates("model").set_index("model")["parameters"].to_dict()
    cnn, aug, c4, d4 = MODELS
    flops = step_flops(s)
    n_seeds = len(s.seeds)
    setting = (f"{runtime.size()} size: rotated digits ({s.side}x{s.side}), {int(runs['size'].max())} upright training "
               "digits, parameters " + ", ".join(f"{m} {counts[m]:,}" for m in (cnn, c4, d4))
               + f"; {s.steps:,} steps of {s.batch_size} for every model (per step the C4 G-CNN costs "
               f"{number(flops[c4] / flops[cnn], 1)}x and the D4 G-CNN {number(flops[d4] / flops[cnn], 1)}x the "
               f"CNN's FLOPs); {n_seeds} seeds; 'rotated' = all four poses, upright included")
    at_last = (runs["best step"] == runs["steps"]).groupby(runs["model"]).agg(["sum", "size"])

    def plateau(finding, *models: str):
        """The finding where most of each model's runs kept an earlier checkpoint (a plateau), else no verdict."""
        settled = all(2 * int(at_last.loc[m, "sum"]) <= int(at_last.loc[m, "size"]) for m in models)
        return provided(finding, bool(settled), "most runs were still improving at their last step, so the gap is "
                        "one of this budget, not of trained models")

    def last_step(*models: str) -> str:
        return "; kept checkpoint at the last step (still improving) in " + ", ".join(
            f"{int(at_last.loc[m, 'sum'])} of {int(at_last.loc[m, 'size'])} runs of {m}" for m in models)

    leaks = res.leakage.pivot(index="seed", columns="states", values="leakage")
    few, many = min(s.world_states), max(s.world_states)

    def gap(column: str, a: str, b: str) -> Interval:
        return seed_interval(differences(res, column, a, b))

    not_bought = []
    for column, what in (("fitted", "fitted (Lenc-Vedaldi)"), ("fixed", "fixed-representation")):
        reductions = layer_reductions(res, column)
        not_bought += [
            below(seed_interval(reductions.loc[reductions["layer"] == layer, "reduction"].tolist()), 0.2,
                  f"layer {layer}: share of the CNN's {what} equivariance error that augmentation removes")
            for layer in sorted(reductions["layer"].unique())
        ]
    unpaired = ("T25's other half is measured in another world (another model, another data axis): the contrast "
                "between the halves is not tested in one setting, so this row cannot decide it")
    return [
        make_claim(CHAPTER, "Equivariance cannot be bought with data (half of T25, a universal judged here only as "
                   "'not bought in this setting'): training a CNN with rotation augmentation does not make its "
                   "features equivariant; it removes less than a fifth of the plain CNN's distance from "
                   "equivariance (a G-CNN's is 0) at every layer, by both measures: with the channel map fitted "
                   "(Lenc-Vedaldi) and with it fixed to the identity. The fitted measure has no positive control "
                   "here (nothing shows it registers equivariance that was learned rather than built in), so a "
                   f"verdict that rests on it alone would not decide the claim. {unpaired}", not_bought,
                   f"{setting}; at this budget", source=talk("T25")),
        make_claim(CHAPTER, "Decomposability can be bought with data (half of T25), once the factors are named: a "
                   "code trained with heads supervised by the three factor labels on more of the world's "
                   "combinations is more disentangled, in the sense of subspaces (oblique leakage: 2-dimensional blocks "
                   "in any basis, a direct sum). The talk's own sense, coordinates (different positions do different "
                   "jobs), is not tested: the coordinate leakage is not compared with the same codes in a random "
                   "basis, and with linear heads nothing in the training favours coordinates, so its change is not "
                   "shown beyond chance. No unsupervised control separates the data from the labels. Nor is data "
                   f"volume tested for the equivariance half. {unpaired}", [
                       below(seed_interval((leaks[many] - leaks[few]).tolist()), 0.0,
                             f"oblique leakage of the learned code, trained on {many} minus on {few} of the 48 "
                             "states"),
                   ], f"{runtime.size()} size: glyph x colour x rotation world (48 states); an MLP encoder with a "
                      f"6-dimensional code and linear heads supervised with the three factors, {s.code_steps} "
                      f"steps of 64 noisy images; {n_seeds} seeds", source=talk("T25")),
        make_claim(CHAPTER, "At matched compute, rotation augmentation buys the rotated accuracy a G-CNN of the "
                   "same size builds in (no more than 0.02 below it): the augmented CNN trained with the C4 "
                   "G-CNN's FLOPs (the other direction, a G-CNN with the CNN's FLOPs, is barely trained at this "
                   "budget and is not run)", [
                       above(gap("rotated test", AUG_MATCHED, c4), -0.02,
                             f"CNN + augmentation at the C4 G-CNN's FLOPs ({aug_matched_steps(s)} steps) minus the "
                             f"C4 G-CNN ({s.steps} steps)"),
                   ], f"{setting}{last_step(AUG_MATCHED, c4)}: a verdict at this budget",
                   source=course("do data buy what the architecture builds in, at equal compute?")),
        make_claim(CHAPTER, f"At this budget ({s.steps} steps), a G-CNN pays for its "
                   "invariance with lower upright accuracy (a gap that may shrink with training)", [
                       plateau(below(gap("upright test", c4, cnn), 0.0, "upright accuracy, G-CNN (C4) minus CNN, "
                                     "equal steps"), c4, cnn),
                   ], f"{setting}{last_step(c4, cnn)}",
                   source=course("does building invariance in cost accuracy on upright digits?")),
        make_claim(CHAPTER, f"At this budget ({s.steps} steps), building in more symmetry "
                   "than the test needs (D4 where only C4 occurs) does not cost accuracy at matched parameters "
                   "(Cohen and Welling 2016 found p4m better than p4 on CIFAR-10, where flips preserve labels). "
                   "A verdict at this budget is not one at a plateau: with most runs still improving, the gap "
                   "may shrink with training, and this row does not decide whether more symmetry costs accuracy "
                   "at convergence. A hypothesis for the cost, not tested here: a D4 G-CNN gives a digit and its "
                   "mirror image the same logits, so digits that resemble each other's mirror images are harder "
                   "for it to tell apart", [
                       plateau(within(gap("rotated test", d4, c4), 0.0, 0.02,
                                      "rotated accuracy, G-CNN (D4) minus G-CNN (C4), equal "
                                      "steps (at which the D4 G-CNN already spends twice the C4's FLOPs)"), d4, c4),
                   ], f"{setting}{last_step(d4, c4)}",
                   source=course("does more built-in symmetry than the data have cost accuracy?")),
    ]
