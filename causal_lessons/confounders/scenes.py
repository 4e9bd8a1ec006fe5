r"""A synthetic world of scenes and objects in which the truth is known.

A hidden scene :math:`S` (bathroom, kitchen, office, street) causes the objects; given the scene, objects occur
independently, and no object causes another. So for any two objects :math:`X, Y`

.. math:: P(Y \mid do(X)) = P(Y) = \sum_s P(s)\, P(Y \mid s),

while :math:`P(Y \mid X)` can be far from it. The positivity floor bounds every :math:`P(\text{object} \mid s)`
from below (and :math:`1 - P` from below), so every object appears, and is absent, in every scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive_int, check_probability

SCENES = ("bathroom", "kitchen", "office", "street")

# P(object | scene) before the positivity floor: plausible rates, chosen by hand for teaching.
_RATES = {
    #                 bathroom kitchen office street
    "person":        (0.10,    0.45,   0.60,  0.85),
    "toilet":        (0.85,    0.00,   0.00,  0.00),
    "sink":          (0.80,    0.55,   0.02,  0.00),
    "hair drier":    (0.12,    0.00,   0.00,  0.00),
    "toothbrush":    (0.35,    0.02,   0.00,  0.00),
    "oven":          (0.00,    0.60,   0.00,  0.00),
    "refrigerator":  (0.00,    0.55,   0.05,  0.00),
    "cup":           (0.15,    0.50,   0.45,  0.05),
    "bottle":        (0.30,    0.45,   0.25,  0.10),
    "keyboard":      (0.00,    0.00,   0.70,  0.00),
    "mouse":         (0.00,    0.00,   0.60,  0.00),
    "laptop":        (0.00,    0.05,   0.55,  0.01),
    "tv":            (0.02,    0.05,   0.45,  0.02),
    "chair":         (0.02,    0.40,   0.75,  0.10),
    "car":           (0.00,    0.00,   0.00,  0.70),
    "traffic light": (0.00,    0.00,   0.00,  0.35),
    "bicycle":       (0.00,    0.00,   0.02,  0.25),
}


@dataclass(frozen=True)
class SceneWorld:
    """Scene prior ``P(s)`` and object rates ``P(object | s)``; objects are independent given the scene."""

    scene_names: tuple[str, ...]
    object_names: tuple[str, ...]
    scene_prior: np.ndarray  # (S,)
    object_rates: np.ndarray  # (S, K)

    def sample(self, n: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` images: the 0/1 label matrix ``(n, K)`` and the hidden scene of each ``(n,)``.

        Examples
        --------
        >>> labels, scene = make_scene_world().sample(5, seed=0)
        >>> labels.shape, scene.shape
        ((5, 17), (5,))
        """
        n = check_positive_int(n, "n")
        rng = np.random.default_rng(seed)
        scene = rng.choice(len(self.scene_names), size=n, p=self.scene_prior)
        labels = (rng.random((n, len(self.object_names))) < self.object_rates[scene]).astype(np.uint8)
        return labels, scene

    def index(self, name: str) -> int:
        """Column of an object name (clear error with suggestions for an unknown one)."""
        from .cooccurrence import class_index

        return class_index(name, self.object_names, len(self.object_names), "object")

    def p_y(self, y: str) -> float:
        r"""The true :math:`P(Y \mid do(X)) = P(Y) = \sum_s P(s) P(Y \mid s)`, for any other object :math:`X`.

        Examples
        --------
        >>> w = make_scene_world()
        >>> 0 < w.p_y("person") < 1
        True
        """
        return float(self.scene_prior @ self.object_rates[:, self.index(y)])

    def p_y_given_x(self, y: str, x: str) -> float:
        r"""The exact association :math:`P(Y \mid X) = \sum_s P(s \mid X) P(Y \mid s)` of this world."""
        xi, yi = self.index(x), self.index(y)
        joint = self.scene_prior * self.object_rates[:, xi]
        return float(joint @ self.object_rates[:, yi] / joint.sum())


def make_scene_world(positivity_floor: float = 0.03,
                     scene_prior: tuple[float, ...] = (0.2, 0.25, 0.25, 0.3)) -> SceneWorld:
    r"""The course's scene world, every rate clipped to ``[floor, 1 - floor]``.

    Parameters
    ----------
    positivity_floor
        Minimum probability of each object, and of its absence, in each scene; ``0`` lets objects be impossible
        in some scenes (positivity fails).
    scene_prior
        :math:`P(s)` for bathroom, kitchen, office, street.

    Examples
    --------
    >>> w = make_scene_world(0.03)
    >>> float(w.object_rates.min()), w.scene_names[0]
    (0.03, 'bathroom')
    """
    floor = check_probability(positivity_floor, "positivity_floor")
    if floor > 0.5:
        raise ValueError(f"positivity_floor must be at most 0.5, got {floor}")
    prior = np.asarray(scene_prior, dtype=float)
    if prior.shape != (len(SCENES),) or (prior < 0).any() or not np.isclose(prior.sum(), 1.0):
        raise ValueError(f"scene_prior must be {len(SCENES)} non-negative probabilities summing to 1")
    rates = np.clip(np.array(list(_RATES.values())).T, floor, 1 - floor)
    return SceneWorld(SCENES, tuple(_RATES), prior, rates)


def select_photos(labels: np.ndarray, a: int, b: int, keep_both: float, seed: int | None = 0) -> np.ndarray:
    r"""Selection, not confounding: keep an image showing both ``a`` and ``b`` only with probability ``keep_both``
    (few people photograph a person on a toilet). Returns the boolean mask of kept images.

    Examples
    --------
    >>> L = np.array([[1, 1], [1, 0], [0, 1]])
    >>> select_photos(L, 0, 1, keep_both=0.0).tolist()
    [False, True, True]
    """
    keep_both = check_probability(keep_both, "keep_both")
    labels = np.asarray(labels)
    both = (labels[:, a] == 1) & (labels[:, b] == 1)
    rng = np.random.default_rng(seed)
    return ~both | (rng.random(len(labels)) < keep_both)
