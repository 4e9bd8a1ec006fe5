r"""A synthetic world of scenes and objects in which the truth is known.

A hidden scene :math:`S` (bathroom, kitchen, office, street) causes the objects; given the scene, objects occur
independently, and no object causes another. So for any two objects :math:`X, Y`

.. math:: P(Y \mid do(X)) = P(Y) = \sum_s P(s)\, P(Y \mid s),

while :math:`P(Y \mid X)` can be far from it. The positivity floor bounds every :math:`P(\text{object} \mid s)`
from below (and :math:`1 - P` from below), so every object appears, and is absent, in every scene.

Optionally one object causes another (``effect=(cause, target, lift)``): the target, absent by its scene rate,
appears anyway with probability ``lift`` when the cause is present. Then

.. math::
    P(T \mid do(C = c)) = \sum_s P(s)\,[r_{Ts} + (1 - r_{Ts})\,\text{lift}\cdot c],

and :math:`P(T \mid do(C=1))`, :math:`P(T \mid do(C=0))`, :math:`P(T)` and :math:`P(T \mid C)` all differ.
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
    """Scene prior ``P(s)`` and object rates ``P(object | s)``; objects are independent given the scene, except
    for the optional ``effect`` ``(cause column, target column, lift)``."""

    scene_names: tuple[str, ...]
    object_names: tuple[str, ...]
    scene_prior: np.ndarray  # (S,)
    object_rates: np.ndarray  # (S, K)
    effect: tuple[int, int, float] | None = None

    def sample(self, n: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` images: the 0/1 label matrix ``(n, K)`` and the hidden scene of each ``(n,)``.

        Examples
        --------
        >>> labels, scene = make_scene_world().sample(5, seed=0)
        >>> labels.shape, scene.shape
        ((5, 17), (5,))
        """
        n = check_positive_int(n, "n")
        if seed is not None:
            seed = check_positive_int(seed, "seed", minimum=0)
        rng = np.random.default_rng(seed)
        scene = rng.choice(len(self.scene_names), size=n, p=self.scene_prior)
        labels = (rng.random((n, len(self.object_names))) < self.object_rates[scene]).astype(np.uint8)
        if self.effect is not None:
            cause, target, lift = self.effect
            caused = (labels[:, cause] == 1) & (rng.random(n) < lift)
            labels[:, target] |= caused.astype(np.uint8)
        return labels, scene

    def index(self, name: str) -> int:
        """Column of an object name (clear error with suggestions for an unknown one)."""
        from .cooccurrence import class_index

        return class_index(name, self.object_names, len(self.object_names), "object")

    def _rates(self) -> np.ndarray:
        """``P(object | s)`` after the effect (the target's rate rises where the cause occurs)."""
        rates = self.object_rates.copy()
        if self.effect is not None:
            cause, target, lift = self.effect
            r = rates[:, target]
            rates[:, target] = r + (1 - r) * lift * self.object_rates[:, cause]
        return rates

    def p_y(self, y: str) -> float:
        r"""The marginal :math:`P(Y) = \sum_s P(s) P(Y \mid s)`; without an effect on :math:`Y` it is also the
        true :math:`P(Y \mid do(X))` for any other object :math:`X`.

        Examples
        --------
        >>> w = make_scene_world()
        >>> 0 < w.p_y("person") < 1
        True
        """
        return float(self.scene_prior @ self._rates()[:, self.index(y)])

    def p_y_do(self, y: str, x: str, x_value: int = 1) -> float:
        r"""The true :math:`P(Y = 1 \mid do(X = x))`: :math:`P(Y)` unless :math:`X` causes :math:`Y`.

        Examples
        --------
        >>> w = make_scene_world(effect=("person", "cup", 0.3))
        >>> w.p_y_do("cup", "person", 1) > w.p_y("cup") > w.p_y_do("cup", "person", 0)
        True
        >>> w.p_y_do("person", "cup", 1) == w.p_y("person")
        True
        """
        xi, yi = self.index(x), self.index(y)
        if x_value not in (0, 1) or isinstance(x_value, bool):
            raise ValueError(f"x_value must be 0 or 1, got {x_value!r}")
        if self.effect is None or self.effect[:2] != (xi, yi):
            return self.p_y(y)
        r = self.object_rates[:, yi]
        return float(self.scene_prior @ (r + (1 - r) * self.effect[2] * x_value))

    def p_y_given_x(self, y: str, x: str) -> float:
        r"""The exact association :math:`P(Y \mid X) = \sum_s P(s)\, P(X, Y \mid s) / P(X)` of this world.

        Examples
        --------
        >>> w = make_scene_world()
        >>> w.p_y_given_x("person", "toilet") < w.p_y("person")
        True
        """
        xi, yi = self.index(x), self.index(y)
        if xi == yi:
            return 1.0
        rates = self._rates()
        joint_xy = rates[:, xi] * rates[:, yi]
        if self.effect is not None and {xi, yi} == set(self.effect[:2]):
            cause, target, lift = self.effect
            r = self.object_rates[:, target]
            joint_xy = self.object_rates[:, cause] * (r + (1 - r) * lift)
        return float(self.scene_prior @ joint_xy / (self.scene_prior @ rates[:, xi]))


def make_scene_world(positivity_floor: float = 0.03,
                     scene_prior: tuple[float, ...] = (0.2, 0.25, 0.25, 0.3),
                     effect: tuple[str, str, float] | None = None) -> SceneWorld:
    r"""The course's scene world, every rate clipped to ``[floor, 1 - floor]``.

    Parameters
    ----------
    positivity_floor
        Minimum probability of each object, and of its absence, in each scene; ``0`` lets objects be impossible
        in some scenes (positivity fails).
    scene_prior
        :math:`P(s)` for bathroom, kitchen, office, street.
    effect
        ``(cause, target, lift)``: the object ``cause`` makes ``target`` appear with probability ``lift`` where
        the scene alone would not (``None``: no object causes another).

    Examples
    --------
    >>> w = make_scene_world(0.03)
    >>> float(w.object_rates.min()), w.scene_names[0]
    (0.03, 'bathroom')
    """
    floor = check_probability(positivity_floor, "positivity_floor")
    if floor > 0.5:
        raise ValueError(f"positivity_floor must be at most 0.5, got {floor}")
    if isinstance(scene_prior, (str, bytes)):
        raise TypeError("scene_prior must be a sequence of probabilities, got a string")
    try:
        prior = np.asarray(scene_prior, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scene_prior must be a sequence of probabilities, got {type(scene_prior).__name__}") from exc
    if prior.shape != (len(SCENES),) or not np.isfinite(prior).all() or (prior < 0).any() \
            or not np.isclose(prior.sum(), 1.0):
        raise ValueError(f"scene_prior must be {len(SCENES)} finite non-negative probabilities summing to 1")
    rates = np.clip(np.array(list(_RATES.values())).T, floor, 1 - floor)
    world = SceneWorld(SCENES, tuple(_RATES), prior, rates)
    if effect is None:
        return world
    if not isinstance(effect, (tuple, list)) or len(effect) != 3:
        raise TypeError("effect must be a (cause, target, lift) triple")
    cause, target, lift = effect
    ci, ti = world.index(cause), world.index(target)
    if ci == ti:
        raise ValueError("effect: an object cannot cause itself")
    lift = check_probability(lift, "effect lift")
    return SceneWorld(SCENES, tuple(_RATES), prior, rates, (ci, ti, lift))


def select_photos(labels: np.ndarray, a: int, b: int, keep_both: float, seed: int | None = 0) -> np.ndarray:
    r"""Selection, not confounding: keep an image showing both ``a`` and ``b`` only with probability ``keep_both``
    (few people photograph a person on a toilet). Returns the boolean mask of kept images.

    Examples
    --------
    >>> L = np.array([[1, 1], [1, 0], [0, 1]])
    >>> select_photos(L, 0, 1, keep_both=0.0).tolist()
    [False, True, True]
    """
    from .cooccurrence import as_label_matrix, class_index

    keep_both = check_probability(keep_both, "keep_both")
    matrix = as_label_matrix(labels)
    a = class_index(a, None, matrix.shape[1], "a")
    b = class_index(b, None, matrix.shape[1], "b")
    both = (matrix[:, a] == 1) & (matrix[:, b] == 1)
    rng = np.random.default_rng(seed)
    return ~both | (rng.random(len(matrix)) < keep_both)
