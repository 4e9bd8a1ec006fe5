"""Every diagram chapter 1 and its lab draw shows every edge (none passes behind a node), and the scatter's
country labels never overlap or sit nearer another point than their own."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from causal_lessons import notebook  # noqa: E402
from causal_lessons.correlation.labels import _distances, place_labels  # noqa: E402
from causal_lessons.correlation.neural_adjustment import binary_confounded_scm  # noqa: E402
from causal_lessons.correlation.scm import LinearTriangle  # noqa: E402
from causal_lessons.datasets import load_chocolate_nobel  # noqa: E402
from causal_lessons.diagrams import dag, edges_through_nodes  # noqa: E402

NAMES = {"G": "G\nGDP", "C": "C\nchocolate", "N": "N\nNobel prizes"}
FORK = LinearTriangle(a=2.0, b=2.0, beta=0.0).scm()
DIAGRAMS = {
    "fork": (FORK.diagram(labels=NAMES), {("G", "C"), ("G", "N")}),
    "after do(C = c)": (FORK.do(C=2.0).diagram(highlight=["C"], labels={**NAMES, "C": "C = c\nchocolate"},
                                                ranks=[["C", "N"]]), {("G", "N")}),
    "lab: Z -> X -> Y with Z -> Y": (binary_confounded_scm().diagram(
        ranks=[["X", "Y"]], labels={"Z": "Z\nconfounder", "X": "X\ntreatment", "Y": "Y\noutcome"}),
        {("Z", "X"), ("Z", "Y"), ("X", "Y")}),
    "scene proxy": (dag([("scene", "keyboard"), ("scene", "mouse"), ("scene", "proxy")], latent=["scene"],
                        labels={"scene": "office scene\n(not labelled)", "proxy": "laptop or TV\n(proxy)"}),
                    {("scene", "keyboard"), ("scene", "mouse"), ("scene", "proxy")}),
}


@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_edge_is_visible(name):
    graph, edges = DIAGRAMS[name]
    svg = graph.pipe(format="svg").decode()
    assert edges_through_nodes(svg) == []
    drawn = {tuple(t.replace("&#45;&gt;", "->").split("->")) for t in
             __import__("re").findall(r'class="edge">\s*<title>(.*?)</title>', svg)}
    assert drawn == edges


def test_the_fork_has_no_chocolate_nobel_edge_and_surgery_cuts_g_to_c():
    assert set(FORK.graph().edges) == {("G", "C"), ("G", "N")}
    assert set(FORK.do(C=1.0).graph().edges) == {("G", "N")}


def test_scatter_labels_do_not_collide():
    notebook.setup()
    df = load_chocolate_nobel()
    x, y = df["chocolate_kg_per_capita"].to_numpy(), df["nobel_laureates_per_10m"].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(x, y, s=30)
    ax.set(xlim=(0, 13), ylim=(-2, 35))
    left_out = place_labels(ax, x, y, df["iso2"].tolist(), fontsize=12)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) + len(left_out) == len(df) and len(boxes) >= len(df) // 2
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    points = ax.transData.transform(np.column_stack([x, y]))
    frame = ax.get_window_extent(renderer)
    for text, box in zip(ax.texts, boxes):
        own = df.index[df["iso2"] == text.get_text()][0]
        near = _distances(box, points)
        assert near[own] < 0.5 * np.delete(near, own).min(), f"{text.get_text()} reads as another point's"
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    plt.close(fig)


def test_labels_left_out_when_points_coincide():
    fig, ax = plt.subplots()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    left_out = place_labels(ax, [0.5, 0.5], [0.5, 0.5], ["A", "B"])
    assert left_out == ["A", "B"] and not ax.texts  # neither label can be nearer its own point
    plt.close(fig)
