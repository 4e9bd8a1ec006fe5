"""Causal diagrams: drawn by dot, every edge clear of the nodes it does not join, clear errors."""

from __future__ import annotations

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_lessons.diagrams import dag, edges_through_nodes


def svg(graph: graphviz.Digraph) -> str:
    return graph.pipe(format="svg").decode()


@pytest.mark.parametrize("edges", [
    [("G", "C"), ("G", "N")],                       # the fork of chapter 1
    [("Z", "X"), ("X", "Y"), ("Z", "Y")],           # the backdoor triangle: Z -> Y must not hide behind X
    [("G", "C"), ("G", "N"), ("C", "N")],
    [("scene", "toilet"), ("scene", "person"), ("toilet", "S"), ("person", "S")],  # a selection collider
])
def test_book_diagrams_show_every_edge(edges):
    drawing = svg(dag(edges))
    assert edges_through_nodes(drawing) == []
    assert drawing.count('class="edge"') == len(edges)


def test_the_checker_catches_an_edge_hidden_behind_a_node():
    line = graphviz.Digraph(engine="neato")
    for name, y in (("Z", 2), ("X", 1), ("Y", 0)):
        line.node(name, pos=f"0,{y}!")
    line.edges([("Z", "X"), ("X", "Y"), ("Z", "Y")])
    assert edges_through_nodes(svg(line)) == ["Z->Y passes through X"]


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 7).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=10))))
def test_random_dags_are_drawn_with_every_edge_clear(case):
    n, pairs = case
    edges = sorted({(f"V{min(a, b)}", f"V{max(a, b)}") for a, b in pairs if a != b})
    if edges:
        assert edges_through_nodes(svg(dag(edges))) == []


def test_styles_for_highlighted_and_latent_nodes():
    source = dag([("U", "X"), ("X", "Y")], highlight=["X"], latent=["U"], labels={"U": "hidden scene"}).source
    assert "dashed" in source and "hidden scene" in source and "#f4a261" in source


@pytest.mark.parametrize("kwargs, error, match", [
    ({"edges": [("A", "A")]}, ValueError, "self-loops"),
    ({"edges": [("A", "B"), ("B", "A")]}, ValueError, "cycle"),
    ({"edges": "AB"}, TypeError, "edges"),
    ({"edges": [("A", "B")], "highlight": ["C"]}, ValueError, "highlight names nodes"),
    ({"edges": [("A", "B")], "highlight": "A"}, TypeError, "highlight"),
    ({"edges": [("A", "B")], "direction": "up"}, ValueError, "direction"),
    ({"edges": []}, ValueError, "at least one node"),
    ({"edges": [("A", "B")], "edge_labels": {("B", "A"): "x"}}, ValueError, "edge_labels"),
])
def test_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        dag(**kwargs)


def test_checker_rejects_non_svg():
    with pytest.raises(ValueError, match="svg"):
        edges_through_nodes("not a drawing")
