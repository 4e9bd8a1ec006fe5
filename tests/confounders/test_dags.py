"""Every causal diagram chapter 2 draws shows every edge (no edge passes behind a node)."""

from __future__ import annotations

import pytest

from causal_lessons.confounders import dags
from causal_lessons.diagrams import edges_through_nodes


@pytest.mark.parametrize("graph, n_edges", [
    (dags.object_strata_dag(), 3),
    (dags.scene_dag(), 4),
    (dags.scene_dag(["toilet", "sink", "hair drier", "toothbrush", "person", "car"]), 6),
    (dags.selection_dag(), 4),
    (dags.context_dag(), 3),
    (dags.context_dag(intervened=True), 2),
], ids=["object-strata", "scene", "scene-6", "selection", "context", "context-do"])
def test_every_edge_is_visible(graph, n_edges):
    svg = graph.pipe(format="svg").decode()
    assert edges_through_nodes(svg) == []
    assert svg.count('class="edge"') == n_edges


def test_the_selection_collider_is_highlighted_and_the_scene_latent():
    source = dags.selection_dag().source
    assert "photo kept" in source and "dashed" in source and "scene (hidden)" in source
    # Both objects point into the collider.
    assert "toilet -> \"photo kept\"" in source and "person -> \"photo kept\"" in source


def test_the_intervened_context_has_no_parent():
    source = dags.context_dag(intervened=True).source
    assert "-> \"context z\"" not in source and "do(context z)" in source
