"""Chapter 2's rows of the claim check, measured once by :func:`measure` and judged by :func:`claims`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..claims import Claim, Interval, above, cached, make_claim, within
from ..datasets import load_coco_labels
from .cooccurrence import backdoor_matrix, conditional, interventional, interventional_matrix
from .scenes import make_scene_world, select_photos

PAIRS = (("sink", "hair drier"), ("person", "toilet"))


@dataclass(frozen=True)
class ConfounderResults:
    """What chapter 2 measures on COCO train2014 and in the scene world."""

    association: dict[tuple[str, str], float]
    interventional: dict[tuple[str, str], float]
    err_objects: np.ndarray
    err_scene: np.ndarray
    selected: float
    p_person: float
    n_scene_images: int


@cached
def measure(n_scene_images: int | None = None) -> ConfounderResults:
    """Run chapter 2's measurements.

    Examples
    --------
    >>> round(measure(20_000).association[("sink", "hair drier")], 4)
    0.5625
    """
    n = runtime.pick(200_000, 2_000_000) if n_scene_images is None else n_scene_images
    coco = load_coco_labels("train2014")
    assoc = {p: conditional(coco, *p) for p in PAIRS}
    inter = {p: interventional(coco, *p) for p in PAIRS}
    world = make_scene_world(0.03)
    labels, scene = world.sample(n, seed=0)
    truth = np.array([world.p_y(name) for name in world.object_names])
    off = ~np.eye(len(truth), dtype=bool)
    err_objects = np.abs(interventional_matrix(labels) - truth[None, :])[off]
    err_scene = np.abs(backdoor_matrix(labels, scene) - truth[None, :])[off]
    person, toilet = world.index("person"), world.index("toilet")
    kept = select_photos(labels, person, toilet, keep_both=0.1, seed=1)
    selected = float(backdoor_matrix(labels[kept], scene[kept])[toilet, person])
    return ConfounderResults(assoc, inter, err_objects, err_scene, selected, float(truth[person]), n)


def claims(results: ConfounderResults | None = None) -> list[Claim]:
    """Rows for chapter 2, "Confounders in detection datasets".

    Examples
    --------
    >>> [c.verdict for c in claims(measure(20_000))]
    ['holds', 'holds', 'does not hold', 'does not hold']
    """
    res = measure() if results is None else results
    a, i = res.association, res.interventional
    ratio = Interval.exact(float(res.err_objects.mean() / res.err_scene.mean()))
    return [
        make_claim("confounders", "On COCO, P(sink | hair drier) is about 0.56 and P(person | toilet) about 0.11", [
            within(Interval.exact(a[("sink", "hair drier")], "count"), 0.56, 0.01, "P(sink | hair drier)", 4),
            within(Interval.exact(a[("person", "toilet")], "count"), 0.11, 0.015, "P(person | toilet)", 4),
        ], "COCO train2014 labels"),
        make_claim("confounders", "Backdoor adjustment over object strata gives 0.39 and 0.29 (VC R-CNN)", [
            within(Interval.exact(i[("sink", "hair drier")], "count"), 0.39, 0.01, "P(sink | do(hair drier))", 4),
            within(Interval.exact(i[("person", "toilet")], "count"), 0.29, 0.01, "P(person | do(toilet))", 4),
        ], "COCO train2014 labels"),
        make_claim("confounders", "Adjusting for the other objects removes the confounding", [
            above(Interval.exact(-ratio.value), -1.5,
                  "minus (mean error of object strata / mean error of scene adjustment)", 2),
        ], f"scene world, {res.n_scene_images:,} images, truth P(Y | do(X)) = P(Y)"),
        make_claim("confounders", "Few photos show people on toilets because of confounding", [
            within(Interval.exact(res.selected), res.p_person, 0.05,
                   "scene-adjusted P(person | do(toilet)) under selection", 3),
        ], "scene world, 10% of person+toilet photos kept"),
    ]
