"""Causal diagrams for every chapter, laid out by graphviz's ``dot`` so that every edge is visible.

Hand-placed nodes hide edges: three nodes in a line draw the fork C <- G -> N as if it were a chain, with the
G -> N arrow behind C. ``dot`` routes each edge around the nodes it does not join. :func:`dag` draws a diagram
(it renders as SVG in Jupyter, Colab and the book); :func:`edges_through_nodes` checks a drawn diagram and is run
by the tests on every diagram the book shows.

graphviz's ``dot`` program must be installed: Colab has it; elsewhere ``apt install graphviz`` (Debian, Ubuntu),
``brew install graphviz`` (macOS) or ``conda install graphviz`` (``make book`` and ``make test`` install it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping, Sequence

import graphviz
import numpy as np

#: Fill colours: an ordinary variable, an intervened/highlighted one, a latent (unobserved) one.
COLOURS = {"node": "#a8dadc", "highlight": "#f4a261", "latent": "#ffffff", "line": "#1d3557"}


def _names(value: Iterable[str], argument: str) -> list[str]:
    if isinstance(value, str):
        raise TypeError(f"{argument} must be a sequence of node names, not a single string")
    names = list(value)
    if not all(isinstance(v, str) and v for v in names):
        raise TypeError(f"{argument} must hold non-empty strings")
    return names


def dag(edges: Sequence[tuple[str, str]], *, nodes: Sequence[str] = (), highlight: Sequence[str] = (),
        latent: Sequence[str] = (), labels: Mapping[str, str] | None = None, edge_labels: Mapping[tuple[str, str],
        str] | None = None, direction: str = "TB", ranks: Sequence[Sequence[str]] = ()) -> graphviz.Digraph:
    """A directed acyclic graph drawn by ``dot``.

    Parameters
    ----------
    edges
        ``(parent, child)`` pairs.
    nodes
        Nodes to draw in this order (isolated nodes, e.g. an intervened variable with no parents left); nodes
        named only in ``edges`` are added after them.
    highlight
        Nodes filled in orange: intervened, conditioned on, or selected.
    latent
        Unobserved nodes, drawn dashed and unfilled.
    labels
        Text shown in a node instead of its name.
    edge_labels
        Text beside an edge, keyed by ``(parent, child)``.
    direction
        ``"TB"`` (causes above effects) or ``"LR"`` (causes left of effects).
    ranks
        Groups of nodes drawn on the same level.

    Returns
    -------
    graphviz.Digraph
        Renders as SVG in notebooks; ``.pipe(format="svg")`` gives the SVG text.

    Examples
    --------
    >>> g = dag([("G", "C"), ("G", "N")], labels={"G": "GDP"})
    >>> edges_through_nodes(g.pipe(format="svg").decode())
    []
    """
    if shutil.which("dot") is None:
        raise RuntimeError("graphviz's dot program is missing: apt install graphviz (Debian/Ubuntu), "
                           "brew install graphviz (macOS) or conda install graphviz")
    if isinstance(edges, (str, bytes)) or not all(
            isinstance(e, (tuple, list)) and len(e) == 2 and all(isinstance(v, str) and v for v in e)
            for e in edges):
        raise TypeError("edges must be a sequence of (parent, child) pairs of node names")
    edges = [tuple(e) for e in edges]
    loops = [e for e in edges if e[0] == e[1]]
    if loops:
        raise ValueError(f"edges must not hold self-loops, got {loops}")
    if direction not in {"TB", "LR"}:
        raise ValueError(f"direction must be 'TB' or 'LR', got {direction!r}")
    order = _names(nodes, "nodes")
    for e in edges:
        order += [v for v in e if v not in order]
    if not order:
        raise ValueError("edges and nodes are both empty: a diagram needs at least one node or edge")
    known = set(order)
    labels = dict(labels or {})
    edge_labels = dict(edge_labels or {})
    for argument, names in (("highlight", _names(highlight, "highlight")), ("latent", _names(latent, "latent")),
                            ("labels", list(labels)), *((f"ranks[{i}]", _names(r, "ranks")) for i, r in
                                                        enumerate(ranks))):
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"{argument} names nodes that are not in the diagram: {unknown}; nodes: {order}")
    unknown_edges = sorted(set(edge_labels) - set(edges))
    if unknown_edges:
        raise ValueError(f"edge_labels names edges that are not in the diagram: {unknown_edges}")
    _check_acyclic(order, edges)

    graph = graphviz.Digraph(graph_attr={"rankdir": direction, "bgcolor": "transparent", "nodesep": "0.6",
                                         "ranksep": "0.55", "fontname": "Helvetica"},
                             node_attr={"fontname": "Helvetica", "fontsize": "14", "style": "filled",
                                        "color": COLOURS["line"], "penwidth": "1.4"},
                             edge_attr={"color": COLOURS["line"], "penwidth": "1.4", "arrowsize": "0.8",
                                        "fontname": "Helvetica", "fontsize": "12"})
    for v in order:
        if v in latent:
            graph.node(v, labels.get(v, v), style="dashed", fillcolor=COLOURS["latent"])
        else:
            graph.node(v, labels.get(v, v), fillcolor=COLOURS["highlight" if v in highlight else "node"])
    for a, b in edges:
        if (a, b) in edge_labels:
            graph.edge(a, b, label=f" {edge_labels[(a, b)]} ")
        else:
            graph.edge(a, b)
    for group in ranks:
        with graph.subgraph() as same:
            same.attr(rank="same")
            for v in group:
                same.node(v)
    return graph


def _check_acyclic(nodes: list[str], edges: list[tuple[str, str]]) -> None:
    children: dict[str, list[str]] = {v: [] for v in nodes}
    for a, b in edges:
        children[a].append(b)
    state: dict[str, int] = {}

    def visit(v: str, path: list[str]) -> None:
        state[v] = 1
        for w in children[v]:
            if state.get(w) == 1:
                cycle = path[path.index(w):] + [w] if w in path else [v, w]
                raise ValueError(f"edges must form a DAG; cycle: {' -> '.join(cycle)}")
            if w not in state:
                visit(w, path + [w])
        state[v] = 2

    for v in nodes:
        if v not in state:
            visit(v, [v])


_NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"


def _points(text: str) -> np.ndarray:
    values = [float(v) for v in re.findall(_NUMBER, text)]
    return np.array(values).reshape(-1, 2)


def _bezier(points: np.ndarray, per_segment: int = 40) -> np.ndarray:
    """Points along a cubic Bézier spline ``P0 C1 C2 P1 C1 C2 P2 ...`` (graphviz's edge paths)."""
    out = [points[:1]]
    t = np.linspace(0, 1, per_segment)[1:, None]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3)
    return np.concatenate(out)


def edges_through_nodes(svg: str, margin: float = 1.0) -> list[str]:
    """Edges of a graphviz SVG that pass through a node that is not one of their two ends.

    Each node's shape (ellipse or polygon) is shrunk by ``margin`` points; an edge's path (a cubic spline) is
    sampled densely and tested against every other node's shape. Used by the tests on every diagram the book
    draws.

    Parameters
    ----------
    svg
        The SVG text written by graphviz (``graph.pipe(format="svg")``, or an ``<svg>`` in a built page).
    margin
        Points of slack at each shape's boundary.

    Returns
    -------
    list of str
        ``"A->B passes through C"`` for each violation; empty when every edge is clear.

    Examples
    --------
    >>> svg = dag([("Z", "X"), ("X", "Y"), ("Z", "Y")]).pipe(format="svg").decode()
    >>> edges_through_nodes(svg)
    []
    """
    if not isinstance(svg, str) or "<svg" not in svg:
        raise ValueError("svg must be the SVG text of a graphviz drawing")
    nodes: dict[str, tuple[str, np.ndarray]] = {}
    for match in re.finditer(r'<g id="node\d+" class="node">\s*<title>(.*?)</title>(.*?)</g>', svg, re.S):
        title, body = match.group(1), match.group(2)
        ellipse = re.search(rf'<ellipse[^>]*cx="({_NUMBER})" cy="({_NUMBER})" rx="({_NUMBER})" ry="({_NUMBER})"',
                            body)
        polygon = re.search(r'<polygon[^>]*points="([^"]+)"', body)
        if ellipse:
            nodes[title] = ("ellipse", np.array([float(v) for v in ellipse.groups()]))
        elif polygon:
            nodes[title] = ("polygon", _points(polygon.group(1)))
    problems = []
    for match in re.finditer(r'<g id="edge\d+" class="edge">\s*<title>(.*?)</title>(.*?)</g>', svg, re.S):
        title, body = match.group(1).replace("&#45;", "-").replace("&gt;", ">"), match.group(2)
        ends = title.split("->")
        path = re.search(r'<path[^>]*d="M([^"]+)"', body)
        if len(ends) != 2 or path is None:
            continue
        curve = _bezier(_points(path.group(1).replace("C", " ")))
        for name, (kind, geometry) in nodes.items():
            if name in ends:
                continue
            if kind == "ellipse":
                cx, cy, rx, ry = geometry
                rx, ry = max(rx - margin, 0.0), max(ry - margin, 0.0)
                inside = ((curve[:, 0] - cx) / rx) ** 2 + ((curve[:, 1] - cy) / ry) ** 2 < 1 if rx and ry else []
            else:
                lo, hi = geometry.min(0) + margin, geometry.max(0) - margin
                inside = np.all((curve > lo) & (curve < hi), axis=1)
            if np.any(inside):
                problems.append(f"{ends[0]}->{ends[1]} passes through {name}")
    return problems
