"""Pure functions on the job graph (networkx). No I/O."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx



def build(jobs: Iterable[str], edges: Iterable[tuple[str, str]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(jobs)
    graph.add_edges_from(edges)
    return graph


def find_cycle(graph: nx.DiGraph) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None when the graph is a DAG."""
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    return [edge[0] for edge in cycle] + [cycle[0][0]]


def topological_order(graph: nx.DiGraph) -> list[str]:
    """Jobs in a deterministic topological order (ties broken by name)."""
    return list(nx.lexicographical_topological_sort(graph))


def descendants(graph: nx.DiGraph, job: str) -> set[str]:
    return set(nx.descendants(graph, job))
