"""The job graph and pure functions on it. No I/O.

:class:`DAG` is the little the engine needs of a directed graph (nodes in insertion order,
predecessor and successor sets, adding and removing): a few dict operations, where
importing networkx would cost a quarter of a run's start-up. The renderers, which need
real graph algorithms, use networkx.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, KeysView
from typing import Any


class DAG:
    """A directed graph of job names (cycles are representable: see :func:`find_cycle`)."""

    def __init__(self) -> None:
        self._succ: dict[str, dict[str, None]] = {}
        self._pred: dict[str, dict[str, None]] = {}

    @property
    def nodes(self) -> KeysView[str]:
        return self._succ.keys()

    @property
    def edges(self) -> Iterator[tuple[str, str]]:
        return ((parent, child) for parent, children in self._succ.items() for child in children)

    def __contains__(self, node: object) -> bool:
        return node in self._succ

    def __len__(self) -> int:
        return len(self._succ)

    def add_node(self, node: str) -> None:
        if node not in self._succ:
            self._succ[node] = {}
            self._pred[node] = {}

    def add_nodes_from(self, nodes: Iterable[str]) -> None:
        for node in nodes:
            self.add_node(node)

    def add_edge(self, parent: str, child: str) -> None:
        self.add_node(parent)
        self.add_node(child)
        self._succ[parent][child] = None
        self._pred[child][parent] = None

    def add_edges_from(self, edges: Iterable[tuple[str, str]]) -> None:
        for parent, child in edges:
            self.add_edge(parent, child)

    def remove_node(self, node: str) -> None:
        for child in self._succ.pop(node):
            del self._pred[child][node]
        for parent in self._pred.pop(node):
            del self._succ[parent][node]

    def predecessors(self, node: str) -> KeysView[str]:
        return self._pred[node].keys()

    def successors(self, node: str) -> KeysView[str]:
        return self._succ[node].keys()


def build(jobs: Iterable[str], edges: Iterable[tuple[str, str]]) -> DAG:
    graph = DAG()
    graph.add_nodes_from(jobs)
    graph.add_edges_from(edges)
    return graph


def find_cycle(graph: DAG) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None when the graph is a DAG (iterative DFS:
    no recursion limit on long chains)."""
    color: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in graph.nodes:
        if root in color:
            continue
        path: list[str] = [root]
        stack: list[Iterator[str]] = [iter(graph.successors(root))]
        color[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                color[path.pop()] = 2
            elif color.get(child) == 1:
                return [*path[path.index(child):], child]
            elif child not in color:
                color[child] = 1
                path.append(child)
                stack.append(iter(graph.successors(child)))
    return None


def topological_order(graph: DAG, key: Callable[[str], Any] | None = None) -> list[str]:
    """Jobs in a deterministic topological order, ties broken by ``key`` (default: the
    name); ValueError on a cycle."""
    rank = key or (lambda node: node)
    waiting = {node: len(graph.predecessors(node)) for node in graph.nodes}
    ready = [(rank(node), node) for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for child in graph.successors(node):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (rank(child), child))
    if len(order) != len(graph):
        raise ValueError("the graph has a cycle")
    return order


def descendants(graph: DAG, job: str) -> set[str]:
    """Every job reachable from ``job`` (not ``job`` itself)."""
    found: set[str] = set()
    pending = list(graph.successors(job))
    while pending:
        node = pending.pop()
        if node not in found:
            found.add(node)
            pending.extend(graph.successors(node))
    return found
