"""Labels for the points of a scatter plot that never overlap each other, the points or the axes' edge.

A greedy placer: points are labelled from the most crowded to the least; each label tries offsets around its
point, nearest first, and takes the first one whose box is free (measured by matplotlib's renderer, in display
units) and less than half as far from its own point as from any other, so no label reads as another point's.
A label with no such place is left out and reported, so a caption can say which points are unlabelled. No
extra dependency (such as adjustText) is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import as_1d_float

#: Offsets tried around each point, in points: 8 directions at growing distance, nearest first.
_DIRECTIONS = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
_RADII = (3, 7, 12)


def _overlaps(box: Any, boxes: list[Any]) -> bool:
    return any(box.overlaps(other) for other in boxes)


def _distances(box: Any, points: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest point of ``box`` (0 inside it), in display units."""
    dx = np.maximum(np.maximum(box.x0 - points[:, 0], points[:, 0] - box.x1), 0)
    dy = np.maximum(np.maximum(box.y0 - points[:, 1], points[:, 1] - box.y1), 0)
    return np.hypot(dx, dy)


def place_labels(ax: Any, x: Sequence[float], y: Sequence[float], texts: Sequence[str], *,
                 marker_radius: float = 4.0, **text_kwargs: Any) -> list[str]:
    """Annotate the points ``(x[i], y[i])`` of ``ax`` with ``texts[i]`` where a label fits without overlap.

    Parameters
    ----------
    ax
        A matplotlib ``Axes`` whose limits are final (draw the data and set limits first).
    x, y
        The points' coordinates, in data units.
    texts
        One label per point.
    marker_radius
        Radius of the drawn markers, in points: labels keep clear of every marker.
    **text_kwargs
        Passed to ``ax.annotate`` (e.g. ``fontsize``, ``color``).

    Returns
    -------
    list of str
        The labels that found no free place and were left out (empty when every point is labelled).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.scatter([0, 1, 1.01], [0, 1, 1.0])
    >>> left_out = place_labels(ax, [0, 1, 1.01], [0, 1, 1.0], ["A", "B", "C"])
    >>> len(ax.texts) + len(left_out)
    3
    """
    xs = as_1d_float(x, "x")
    ys = as_1d_float(y, "y")
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of labels, not a single string")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must hold strings")
    if not len(xs) == len(ys) == len(texts):
        raise ValueError(f"x, y and texts must have the same length, got {len(xs)}, {len(ys)} and {len(texts)}")
    if not hasattr(ax, "annotate") or not hasattr(ax, "transData"):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if not (isinstance(marker_radius, (int, float)) and np.isfinite(marker_radius) and marker_radius >= 0):
        raise ValueError(f"marker_radius must be a finite number >= 0, got {marker_radius!r}")
    fig = ax.figure
    fig.canvas.draw()  # settle the layout, so display coordinates are final
    renderer = fig.canvas.get_renderer()
    to_pixels = fig.dpi / 72
    points = ax.transData.transform(np.column_stack([xs, ys]))
    frame = ax.get_window_extent(renderer)
    from matplotlib.transforms import Bbox

    r = marker_radius * to_pixels
    markers = [Bbox.from_extents(px - r, py - r, px + r, py + r) for px, py in points]
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    crowding = np.sort(distances, axis=1)[:, 1] if len(points) > 1 else np.zeros(1)
    placed: list[Any] = []
    left_out = []
    for i in np.argsort(crowding, kind="stable"):
        for radius in _RADII:
            done = False
            for dx, dy in _DIRECTIONS:
                label = ax.annotate(texts[i], (xs[i], ys[i]), xytext=(dx * radius, dy * radius),
                                    textcoords="offset points", ha="left" if dx > 0 else "right" if dx < 0
                                    else "center", va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                                    **text_kwargs)
                box = label.get_window_extent(renderer).expanded(1.05, 1.1)
                inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                          and box.y1 <= frame.y1)
                near = _distances(box, points)
                own = near[i]
                near[i] = np.inf
                if inside and own < 0.5 * near.min() and not _overlaps(box, placed) and not _overlaps(box, markers):
                    placed.append(box)
                    done = True
                    break
                label.remove()
            if done:
                break
        else:
            left_out.append(texts[i])
    return left_out
