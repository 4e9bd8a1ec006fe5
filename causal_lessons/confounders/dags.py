"""The causal diagrams chapter 2 reasons with, drawn by :func:`causal_lessons.diagrams.dag`.

- :func:`object_strata_dag`: the structure VC R-CNN's estimator assumes, another object :math:`Z` as the
  confounder of :math:`X` and :math:`Y`;
- :func:`scene_dag`: the scene world, where a latent scene causes every object and no object causes another;
- :func:`selection_dag`: selection, a photo kept or not depending on the objects it shows (a collider);
- :func:`context_dag`: the lab's images, class and context confounded in training, context assigned at random
  on the intervened test set.
"""

from __future__ import annotations

from collections.abc import Sequence

import graphviz

from ..diagrams import dag


def object_strata_dag(x: str = "hair drier", y: str = "sink", z: str = "other object z") -> graphviz.Digraph:
    """VC R-CNN's assumption: each other object ``z`` causes both ``x`` and ``y`` (a backdoor path
    ``x <- z -> y``), and ``x`` may cause ``y``.

    Examples
    --------
    >>> object_strata_dag().source.count("->")
    3
    """
    for name, value in (("x", x), ("y", y), ("z", z)):
        _check_name(value, name)
    return dag([(z, x), (z, y), (x, y)], highlight=[x], direction="TB")


def scene_dag(objects: Sequence[str] = ("toilet", "sink", "hair drier", "person"),
              scene: str = "scene") -> graphviz.Digraph:
    """The scene world: the latent ``scene`` causes every object; objects do not cause each other.

    Examples
    --------
    >>> scene_dag().source.count("->")
    4
    """
    objects = _check_objects(objects)
    _check_name(scene, "scene")
    return dag([(scene, o) for o in objects], latent=[scene], labels={scene: f"{scene} (hidden)"},
               ranks=[objects])


def selection_dag(x: str = "toilet", y: str = "person", scene: str = "scene",
                  kept: str = "photo kept") -> graphviz.Digraph:
    """Selection: the scene causes ``x`` and ``y``; whether a photo is kept depends on both (a collider,
    highlighted because the data set conditions on it).

    Examples
    --------
    >>> selection_dag().source.count("->")
    4
    """
    for name, value in (("x", x), ("y", y), ("scene", scene), ("kept", kept)):
        _check_name(value, name)
    return dag([(scene, x), (scene, y), (x, kept), (y, kept)], latent=[scene], highlight=[kept],
               labels={scene: f"{scene} (hidden)"})


def context_dag(intervened: bool = False) -> graphviz.Digraph:
    """The lab's images: the class (the glyph) and the context (the colour) both make the image; in training the
    class chooses the context (confounding); under :math:`do(\\text{context})` that arrow is cut.

    Examples
    --------
    >>> context_dag().source.count("->"), context_dag(intervened=True).source.count("->")
    (3, 2)
    """
    if not isinstance(intervened, bool):
        raise TypeError(f"intervened must be True or False, got {type(intervened).__name__}")
    edges = [("class y", "image"), ("context z", "image")]
    if not intervened:
        edges.insert(0, ("class y", "context z"))
    return dag(edges, nodes=["class y", "context z"], highlight=["context z"] if intervened else [],
               labels={"context z": "do(context z)"} if intervened else None)


def _check_name(value: str, argument: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{argument} must be a non-empty node name, got {value!r}")


def _check_objects(objects: Sequence[str]) -> list[str]:
    if isinstance(objects, str) or not isinstance(objects, Sequence):
        raise TypeError("objects must be a sequence of node names, not a single string")
    objects = list(objects)
    if not objects:
        raise ValueError("objects must name at least one object")
    for value in objects:
        _check_name(value, "objects")
    return objects
