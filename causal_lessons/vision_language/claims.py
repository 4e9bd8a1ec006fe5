"""Chapter 5's experiments, run once by :func:`measure` (the page glues its numbers from the same call), and its
rows of the claim check, judged by :func:`claims` from intervals over seeds.

Per seed: pre-train the toy CLIP with each text encoder (same image encoder, steps and batches; text encoders at
matched parameter counts) and score held-out swap pairs; fine-tune the order-aware model on training swap pairs
with the contrastive loss alone (the control) and with EqSim added (same batches, same steps); run zero-shot,
CoOp and ProGrad on the same few shots; train a question-only and two image+question VQA models.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import runtime
from .._checks import as_1d_float
from ..claims import HOLDS, INCONCLUSIVE, Claim, Finding, Interval, above, below, cached, make_claim, over_seeds
from ..formatting import number
from .contrastive import edit_similarities, fine_tune, pair_similarities, pretrain, toy_clip
from .encoders import count_parameters
from .lab import settings as lab_settings
from .prompts import prompt_tuning
from .scenes import World, edit_frame_relations, swap_pairs
from .scores import monotone_share, right_step_share, winoground_scores
from .vqa import ImageQuestion, QuestionOnly, train_vqa, vqa_data, vqa_predict

SLUG = "vision_language"
#: The second prompt-tuning setting: pictures as clean as in pre-training (no domain shift to fix).
CLEAN = {"contrast": 1.0, "noise": 0.03}


@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 5's experiments (quick or full, from :func:`sizes`): the world, the encoders' widths
    (image channels, word embedding, GRU, joint embedding), seeds, steps and batches, and the two VQA model sizes
    (CNN channels, hidden units)."""

    world: World
    widths: tuple[int, int, int, int]
    seeds: list[int]
    pretrain_steps: int
    batch: int
    fine_tune_steps: int
    eqsim_weight: float
    pairs_per_family: int
    prompt_epochs: int
    shots: int
    eval_every: int
    vqa_train: int
    vqa_test: int
    vqa_steps: int
    vqa_batch: int
    skew: float
    vqa_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def sizes(at: str | None = None) -> Sizes:
    """The experiment's sizes at the selected size (or at ``at``).

    Examples
    --------
    >>> s = sizes("quick")
    >>> s.world.size, len(s.seeds), s.pretrain_steps
    (16, 3, 300)
    """
    lab = lab_settings(at)  # the world and the training budgets are the lab's: one place sets them
    return Sizes(
        world=lab.world,
        widths=runtime.pick((8, 16, 32, 32), (32, 64, 128, 128), at),
        seeds=runtime.seeds(3, 5, at),
        pretrain_steps=lab.pretrain_steps,
        batch=runtime.pick(16, 128, at),
        fine_tune_steps=lab.fine_tune_steps,
        eqsim_weight=lab.eqsim_weight,
        pairs_per_family=lab.pairs_per_family,
        prompt_epochs=lab.prompt_epochs,
        shots=lab.shots,
        eval_every=runtime.pick(10, 20, at),
        vqa_train=runtime.pick(2_000, 20_000, at),
        vqa_test=runtime.pick(600, 4_000, at),
        vqa_steps=runtime.steps(200, 3_000, at),
        vqa_batch=runtime.pick(32, 128, at),
        skew=0.8,
        vqa_sizes={"small": (4, 32), "large": runtime.pick((8, 96), (32, 256), at)},
    )


@dataclass(frozen=True)
class VisionLanguageResults:
    """What chapter 5 measures, per seed (lists run over ``sizes.seeds``).

    Attributes
    ----------
    sizes
        The sizes used.
    params
        Trainable parameters: ``"bag_of_words"`` and ``"order_aware"`` text encoders, ``"image"`` encoder, and the
        VQA models ``"question_only"``, ``"small"`` and ``"large"``.
    scores
        ``scores[model][metric]``: one value per seed, for models ``"bag_of_words"``, ``"order_aware"``
        (pre-trained), ``"control"`` (fine-tuned with the contrastive loss alone) and ``"eqsim"`` (with EqSim
        added); metrics ``"text"``, ``"image"``, ``"group"``.
    monotone
        ``monotone[model]``: the share of edit curves that move monotonically the right way, one per seed.
    right_steps
        ``right_steps[model]``: the share of single edit steps that move the right way, one per seed.
    fine_tune_start
        At the first fine-tuning step, per seed: the contrastive loss (``"infonce"``) and the weighted EqSim term
        (``"eqsim_term"``), so the weight's effect can be judged.
    example
        Seed 0's first held-out swap pair: its captions, images and four similarities before and after EqSim.
    edit
        Seed 0's edit curves of the first held-out object pair, before and after EqSim, shape ``(2, steps)``.
    prompts
        Base, new and harmonic accuracy of zero-shot, CoOp and ProGrad by epoch, all seeds (a ``seed`` column),
        on washed-out, noisy pictures (a domain shift that is the same for every class).
    prompts_clean
        The same on clean pictures (the pre-training domain), where a base-class fix of the domain cannot carry
        over to the new classes because there is none to make.
    vqa
        One row per seed and model: in-distribution and shifted accuracy.
    """

    sizes: Sizes
    params: dict[str, int]
    scores: dict[str, dict[str, list[float]]]
    monotone: dict[str, list[float]]
    right_steps: dict[str, list[float]]
    fine_tune_start: dict[str, list[float]]
    example: dict[str, Any]
    edit: dict[str, np.ndarray]
    prompts: pd.DataFrame
    prompts_clean: pd.DataFrame
    vqa: pd.DataFrame


def _edit_shares(curves: Any) -> tuple[float, float]:
    """Shares of curves, and of single steps, that move the right way: "a left of b" falls, "a right of b"
    rises (the two captions weigh equally)."""
    curves_ok = (monotone_share(curves[:, 0], increasing=False) + monotone_share(curves[:, 1], increasing=True))
    steps_ok = (right_step_share(curves[:, 0], increasing=False) + right_step_share(curves[:, 1], increasing=True))
    return curves_ok / 2, steps_ok / 2


def _one_seed(cfg: Sizes, seed: int) -> dict[str, Any]:
    world = cfg.world
    rng = np.random.default_rng(1_000 + seed)
    test = swap_pairs(world, cfg.pairs_per_family, rng)
    edit_objects = [(a, b) for (c1, c2), (s1, s2) in world.test_families
                    for a, b in (((c1, s1), (c2, s2)), ((c2, s2), (c1, s1)), ((c2, s1), (c1, s2)),
                                 ((c1, s2), (c2, s1)))]
    out: dict[str, Any] = {"scores": {}, "monotone": {}, "steps": {}, "sims": {}, "curves": {}, "params": {}}
    models = {}
    for kind in ("bag_of_words", "order_aware"):
        model = toy_clip(world, kind, *cfg.widths, seed=seed).to(runtime.get_device())
        pretrain(model, world, cfg.pretrain_steps, batch=cfg.batch, seed=seed)
        models[kind] = model
        out["params"][kind] = count_parameters(model.text)
        out["params"]["image"] = count_parameters(model.image)
    first_loss = {}
    for name, weight in (("control", 0.0), ("eqsim", cfg.eqsim_weight)):
        models[name] = copy.deepcopy(models["order_aware"])
        first_loss[name] = fine_tune(models[name], world, cfg.fine_tune_steps, eqsim_weight=weight, seed=seed)[0]
    # Both runs see the same first batch from the same start: the difference is the weighted EqSim term.
    out["start"] = {"infonce": first_loss["control"], "eqsim_term": first_loss["eqsim"] - first_loss["control"]}
    for name, model in models.items():
        sims = pair_similarities(model, test, world)
        out["scores"][name] = winoground_scores(sims)
        out["sims"][name] = sims[0].numpy()
        curves = edit_similarities(model, world, edit_objects, seed=seed)
        out["monotone"][name], out["steps"][name] = _edit_shares(curves)
        out["curves"][name] = curves[0].numpy()
    out["example"] = {"captions": test.captions[0], "images": test.images[0].numpy(), "kind": test.kinds[0]}
    table = prompt_tuning(models["order_aware"], world, cfg.prompt_epochs, shots=cfg.shots,
                          eval_every=cfg.eval_every, seed=seed)
    out["prompts"] = table.assign(seed=seed)
    clean = prompt_tuning(models["order_aware"], world, cfg.prompt_epochs, shots=cfg.shots,
                          eval_every=cfg.eval_every, seed=seed, **CLEAN)
    out["prompts_clean"] = clean.assign(seed=seed)
    out["vqa"] = _vqa(cfg, seed, out["params"])
    return out


def _vqa(cfg: Sizes, seed: int, params: dict[str, int]) -> list[dict[str, Any]]:
    world = cfg.world
    rng = np.random.default_rng(2_000 + seed)
    train = vqa_data(world, cfg.vqa_train, cfg.skew, rng)
    splits = {"in distribution": vqa_data(world, cfg.vqa_test, cfg.skew, rng),
              "shifted": vqa_data(world, cfg.vqa_test, cfg.skew, rng, shifted=True)}
    vocab, n_answers = int(train.ids.max()) + 1, world.n_colours
    builders = {"question_only": lambda: QuestionOnly(vocab, n_answers)}
    for size, (width, hidden) in cfg.vqa_sizes.items():
        builders[size] = lambda w=width, h=hidden: ImageQuestion(vocab, n_answers, world.size, width=w, hidden=h)
    rows = []
    for name, build in builders.items():
        runtime.seed_everything(seed)
        model = build().to(runtime.get_device())
        params[name] = count_parameters(model)
        train_vqa(model, train, cfg.vqa_steps, batch=cfg.vqa_batch, seed=seed)
        row = {"seed": seed, "model": name}
        for split, data in splits.items():
            row[split] = float((vqa_predict(model, data) == data.answers).double().mean())
        rows.append(row)
    return rows


def _seed_worker(cfg: Sizes, seed: int) -> dict[str, Any]:
    # One thread per worker: two workers keep both cores of a small machine busy with these small tensors.
    torch.set_num_threads(1)
    return _one_seed(cfg, seed)


def _run_seeds(cfg: Sizes) -> list[dict[str, Any]]:
    """Every seed's run: on a CPU with two or more cores, seeds run in parallel worker processes (each seed is
    seeded on its own, so the order does not matter); on a GPU, one after the other."""
    workers = min(len(cfg.seeds), os.cpu_count() or 1, 2)
    if workers < 2 or runtime.get_device().type != "cpu":
        return [_one_seed(cfg, seed) for seed in cfg.seeds]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=workers, backend="loky")(delayed(_seed_worker)(cfg, seed) for seed in cfg.seeds)


@cached
def measure(at: str | None = None) -> VisionLanguageResults:
    """Run chapter 5's experiments at the selected size, or at ``at`` (see the module docstring).

    The experiments are seeded, so a second call in the same process returns the first call's results; across
    processes (the chapter page, then the appendix) :func:`~causal_lessons.claims.cached` shares them.

    Examples
    --------
    >>> res = measure()
    >>> res.scores["bag_of_words"]["text"] == [0.0] * len(res.sizes.seeds)  # the tie, in every seed
    True
    """
    return _measure(runtime.size(at))


@functools.lru_cache(maxsize=None)
def _measure(size: str) -> VisionLanguageResults:
    cfg = sizes(size)
    runs = _run_seeds(cfg)
    scores = {name: {m: [r["scores"][name][m] for r in runs] for m in ("text", "image", "group")}
              for name in runs[0]["scores"]}
    monotone = {name: [r["monotone"][name] for r in runs] for name in runs[0]["monotone"]}
    steps = {name: [r["steps"][name] for r in runs] for name in runs[0]["steps"]}
    start = {key: [r["start"][key] for r in runs] for key in ("infonce", "eqsim_term")}
    first = runs[0]
    example = {**first["example"], "before": first["sims"]["order_aware"], "after": first["sims"]["eqsim"],
               "bag_of_words": first["sims"]["bag_of_words"]}
    edit = {"before": first["curves"]["order_aware"], "after": first["curves"]["eqsim"]}
    return VisionLanguageResults(
        sizes=cfg, params=first["params"], scores=scores, monotone=monotone, right_steps=steps, example=example,
        edit=edit, fine_tune_start=start,
        prompts=pd.concat([r["prompts"] for r in runs], ignore_index=True),
        prompts_clean=pd.concat([r["prompts_clean"] for r in runs], ignore_index=True),
        vqa=pd.DataFrame([row for r in runs for row in r["vqa"]]))


def difference(values: list[float], baseline: list[float]) -> Interval:
    """The mean over seeds of ``values - baseline`` (paired by seed) with its t interval; with one seed (the
    smoke size) no interval can be computed and the whole range [-1, 1] of a difference of shares is returned.

    Examples
    --------
    >>> difference([0.9, 0.8, 0.85], [0.5, 0.6, 0.5]).text(2)
    '0.32 (95% CI 0.06 to 0.58)'
    >>> difference([0.9], [0.5]).text(2)
    '0.40 (95% CI -1.00 to 1.00)'
    """
    a, b = as_1d_float(values, "values"), as_1d_float(baseline, "baseline")
    if a.shape != b.shape:
        raise ValueError(f"values and baseline must be equal-length lists over seeds, got {len(a)} and {len(b)}")
    if len(a) == 1:
        return Interval(float(a[0] - b[0]), -1.0, 1.0, method="one seed: the whole range")
    return over_seeds(a - b)


def _final(prompts: pd.DataFrame, method: str, column: str, epoch: int | None = None) -> list[float]:
    """One value per seed: ``column`` of ``method`` at ``epoch`` (default the last)."""
    epoch = int(prompts["epoch"].max()) if epoch is None else epoch
    rows = prompts[(prompts["method"] == method) & (prompts["epoch"] == epoch)].sort_values("seed")
    return rows[column].tolist()


def prompt_summary(results: VisionLanguageResults, clean: bool = False) -> dict[str, Any]:
    """The numbers of the prompt-tuning claims: per seed, at the last epoch and at the first evaluated one, on
    the washed-out pictures or (``clean=True``) on clean ones.

    Examples
    --------
    >>> sorted(prompt_summary(measure()))[:3]
    ['coop_base', 'coop_early_new', 'coop_harmonic']
    """
    if not isinstance(results, VisionLanguageResults):
        raise TypeError(f"results must be VisionLanguageResults (from measure), got {type(results).__name__}")
    if not isinstance(clean, (bool, np.bool_)):
        raise TypeError(f"clean must be True or False, got {type(clean).__name__}")
    p = results.prompts_clean if clean else results.prompts
    early = int(sorted(p["epoch"].unique())[1])
    out: dict[str, Any] = {"epochs": int(p["epoch"].max()), "early_epoch": early}
    for key, method in (("zero_shot", "zero-shot"), ("coop", "CoOp"), ("prograd", "ProGrad")):
        for column in ("base", "new", "harmonic"):
            out[f"{key}_{column}"] = _final(p, method, column)
    out["coop_early_new"] = _final(p, "CoOp", "new", early)
    return out


def _seeds(n: int) -> str:
    return "1 seed" if n == 1 else f"{n} seeds"


def claims(results: VisionLanguageResults | None = None) -> list[Claim]:
    """Rows for chapter 5, "Vision-language models".

    Examples
    --------
    >>> rows = claims(measure())
    >>> len(rows), all(row.chapter == "vision_language" for row in rows)
    (5, True)
    """
    res = measure() if results is None else results
    if not isinstance(res, VisionLanguageResults):
        raise TypeError(f"results must be VisionLanguageResults (from measure), got {type(res).__name__}")
    cfg, sc = res.sizes, res.scores
    n_seeds = len(cfg.seeds)
    toy = (f"toy proxy: order-aware toy CLIP on {cfg.world.size} x {cfg.world.size} two-object scenes, "
           f"{len(cfg.world.test_families) * cfg.pairs_per_family} held-out swap pairs, {_seeds(n_seeds)}, "
           f"{cfg.fine_tune_steps} fine-tuning steps, EqSim and contrastive-only on the same batches; EqSim variant: "
           "per pair, margin 0, on temperature-scaled logits")
    settings = {"washed-out pictures (a class-agnostic domain shift)": prompt_summary(res),
                "clean pictures (no domain shift)": prompt_summary(res, clean=True)}
    pr = settings["washed-out pictures (a class-agnostic domain shift)"]
    prompt_setting = (f"toy proxy: {len(cfg.world.objects) // 2} base and {len(cfg.world.objects) // 2} new "
                      f"object classes, {cfg.shots} shots, {pr['epochs']} epochs, {_seeds(n_seeds)}, in two "
                      "settings")
    forget, prograd = [], []
    for where, p in settings.items():
        forgot = difference(p["coop_new"], p["zero_shot_new"])
        forget += [
            below(forgot, 0.0, f"{where}: new-class accuracy, CoOp after {p['epochs']} epochs minus zero-shot"),
            below(difference(p["coop_new"], p["coop_early_new"]), 0.0,
                  f"{where}: CoOp new-class accuracy, epoch {p['epochs']} minus epoch {p['early_epoch']}"),
        ]
        tested = [
            above(difference(p["prograd_new"], p["coop_new"]), 0.0, f"{where}: new-class accuracy, ProGrad minus CoOp"),
            above(difference(p["prograd_harmonic"], p["coop_harmonic"]), 0.0,
                  f"{where}: harmonic mean, ProGrad minus CoOp"),
        ]
        if forget[-2].verdict != HOLDS:
            # ProGrad's claim is that it prevents forgetting; where CoOp did not forget there is nothing to
            # prevent, and removing the part of a step that conflicts with zero-shot must cost accuracy when
            # zero-shot is the worse predictor.
            tested = [Finding(f"{f.measured} (premise not established: CoOp is not shown to forget here, "
                              f"new-class CoOp minus zero-shot = {forgot.text()})",
                              f"{f.rule}; inconclusive whenever CoOp-minus-zero-shot on new classes is not below 0",
                              INCONCLUSIVE) for f in tested]
        prograd += tested
    edit_frames = edit_frame_relations(cfg.world)
    valid = {rel: sum(r == rel for r in edit_frames) for rel in ("left of", "right of")}
    edit = [
        above(difference(res.right_steps["eqsim"], res.right_steps["order_aware"]), 0.0,
              "share of edit steps in the right direction, after EqSim minus before"),
        above(difference(res.right_steps["eqsim"], res.right_steps["control"]), 0.0,
              "the same, EqSim minus contrastive-only fine-tuning"),
    ]
    if min(valid.values()) < 2:
        # With fewer than two frames of a relation, the steps run mostly over frames where neither caption is
        # true (the objects touch or overlap): the proxy does not measure equivariance at this size.
        edit = [Finding(f"{f.measured} (proxy not valid at this size: only {valid['left of']} frame(s) show "
                        f"'A left of B' and {valid['right of']} 'A right of B' as training draws them; in the "
                        f"other {len(edit_frames) - sum(valid.values())} the objects touch or overlap)",
                        f"{f.rule}; inconclusive whenever fewer than 2 frames show each relation", INCONCLUSIVE)
                for f in edit]
    vqa = res.vqa.sort_values("seed")
    gap = {m: (vqa[vqa.model == m]["in distribution"] - vqa[vqa.model == m]["shifted"]).tolist()
           for m in ("small", "large")}
    in_dist = {m: float(vqa[vqa.model == m]["in distribution"].mean()) for m in ("question_only", "small", "large")}
    zeros = [0.0] * n_seeds
    scale = res.params["large"] / res.params["small"]
    return [
        make_claim(SLUG, "Fine-tuning with EqSim raises the group score on swap pairs (EqBen, Wang et al. 2023, "
                         "in the talk)", [
            above(difference(sc["eqsim"]["group"], sc["order_aware"]["group"]), 0.0,
                  "group score after EqSim fine-tuning minus before"),
            above(difference(sc["eqsim"]["group"], sc["control"]["group"]), 0.0,
                  "group score, EqSim minus contrastive-only fine-tuning"),
        ], toy),
        make_claim(SLUG, "With EqSim, similarity follows a continuous edit monotonically (EqBen, in the talk)", edit,
                   f"toy proxy: an object sliding left to right in {len(edit_frames)} frames, {_seeds(n_seeds)} "
                   f"(share of wholly monotone curves before / after EqSim "
                   f"{number(np.mean(res.monotone['order_aware']), 3)} / "
                   f"{number(np.mean(res.monotone['eqsim']), 3)})"),
        make_claim(SLUG, "More prompt training makes CoOp's new-class accuracy worse than zero-shot (the talk, "
                         "after Zhou et al. 2022)", forget, prompt_setting),
        make_claim(SLUG, "ProGrad prevents it: better new-class accuracy and base/new harmonic mean than CoOp "
                         "(Zhu et al. 2023, in the talk)", prograd, prompt_setting),
        make_claim(SLUG, f"A {number(scale, 1)}x larger toy VQA model still loses "
                         "accuracy on the shifted split (the talk: scale does not remove the language prior)", [
            above(difference(gap["large"], zeros), 0.0,
                  "accuracy the larger image+question model loses on the shifted split"),
            above(difference(gap["large"], [0.5 * g for g in gap["small"]]), 0.0,
                  "shifted-split loss of the larger model minus half the smaller model's (scale did not halve it)"),
        ], f"toy proxy: VQA-CP-style split, {res.params['small']:,} and {res.params['large']:,} parameters "
           f"({number(scale, 1)}x) at equal steps ({number(cfg.vqa_steps)} each), "
           f"{_seeds(n_seeds)}; in-distribution accuracy {number(in_dist['small'], 3)} (small) / "
           f"{number(in_dist['large'], 3)} (large) against {number(in_dist['question_only'], 3)} for question-only"),
    ]
