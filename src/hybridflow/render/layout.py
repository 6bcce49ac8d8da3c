"""A layered (Sugiyama-style) layout in pure Python, fast enough for 10,000 nodes.

Ranks by longest path from the sources, long edges split by dummy points, crossings
reduced by barycenter sweeps (the ordering with the fewest crossings is kept), and x
coordinates placed by isotonic regression so every node sits as close as the spacing
allows to the mean of its neighbours. It is O((V + E') log V) per sweep, E' counting
dummy segments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

RANK_GAP, NODE_GAP, DUMMY_GAP, MARGIN = 48.0, 24.0, 10.0, 12.0


@dataclass(frozen=True, slots=True)
class Layout:
    """Positions in SVG units (y grows downward).

    ``boxes`` maps each node to ``(cx, cy, w, h)``; ``routes`` holds, per edge
    ``(source, target, points)``, a polyline from the source's border to the target's.
    ``layers`` lists the real nodes of each rank left to right.
    """

    boxes: dict[str, tuple[float, float, float, float]]
    routes: list[tuple[str, str, list[tuple[float, float]]]]
    layers: list[list[str]]
    width: float
    height: float


def layout(
    sizes: Mapping[str, tuple[float, float]],
    edges: Iterable[tuple[str, str]],
    sweeps: int | None = None,
) -> Layout:
    """Lay out nodes of the given ``(w, h)`` sizes. Edges naming unknown nodes are dropped;
    a cycle is tolerated (its back edges are drawn upward). ``sweeps`` bounds the crossing
    reduction rounds (default: 4 to 24, fewer for bigger graphs)."""
    names = list(sizes)
    index = {name: i for i, name in enumerate(names)}
    pairs = list(dict.fromkeys((index[a], index[b]) for a, b in edges
                               if a in index and b in index and a != b))
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(len(names)))
    graph.add_edges_from(pairs)
    if nx.is_directed_acyclic_graph(graph):
        order = list(nx.topological_sort(graph))
    else:
        order = list(reversed(list(nx.dfs_postorder_nodes(graph))))
    topo = {node: k for k, node in enumerate(order)}
    flipped = [topo[a] > topo[b] for a, b in pairs]
    forward = [(b, a) if flip else (a, b) for (a, b), flip in zip(pairs, flipped, strict=True)]
    rank = [0] * len(names)
    preds: list[list[int]] = [[] for _ in names]
    for a, b in forward:
        preds[b].append(a)
    for node in order:
        if preds[node]:
            rank[node] = max(rank[p] for p in preds[node]) + 1
    width = [sizes[n][0] for n in names]
    height = [sizes[n][1] for n in names]
    up: list[list[int]] = [[] for _ in names]
    down: list[list[int]] = [[] for _ in names]
    chains: list[list[int]] = []
    allowed = _routed(forward, rank, budget=2 * (len(names) + len(forward)) + 1000)
    for k, (a, b) in enumerate(forward):
        prev = a
        chain: list[int] = []
        if rank[b] - rank[a] > 1 and k not in allowed:
            chains.append(chain)
            continue
        for r in range(rank[a] + 1, rank[b]):
            dummy = len(rank)
            rank.append(r)
            width.append(0.0)
            height.append(0.0)
            up.append([prev])
            down.append([])
            down[prev].append(dummy)
            chain.append(dummy)
            prev = dummy
        down[prev].append(b)
        up[b].append(prev)
        chains.append(chain)
    layers = _initial_layers(order, rank, down)
    rounds = sweeps if sweeps is not None else min(24, max(4, 40_000 // max(1, len(rank))))
    layers = _order(layers, up, down, rounds)
    real = len(names)
    x = _x_coordinates(layers, up, down, width, real)
    y: list[float] = [0.0] * len(rank)
    top = MARGIN
    for layer in layers:
        tallest = max((height[v] for v in layer), default=0.0)
        for v in layer:
            y[v] = top + tallest / 2
        top += tallest + RANK_GAP
    left = min((x[v] - width[v] / 2 for v in range(len(rank))), default=0.0)
    shift = MARGIN - left
    x = [value + shift for value in x]
    boxes = {names[i]: (x[i], y[i], width[i], height[i]) for i in range(real)}
    routes = []
    for (a, b), flip, chain in zip(forward, flipped, chains, strict=True):
        points = [(x[a], y[a] + height[a] / 2), *((x[d], y[d]) for d in chain),
                  (x[b], y[b] - height[b] / 2)]
        source, target = (b, a) if flip else (a, b)
        routes.append((names[source], names[target], points[::-1] if flip else points))
    right = max((x[v] + width[v] / 2 for v in range(len(rank))), default=0.0)
    return Layout(boxes, routes, [[names[v] for v in layer if v < real] for layer in layers],
                  right + MARGIN, max(top - RANK_GAP, 0.0) + MARGIN)


def _routed(forward: list[tuple[int, int]], rank: list[int], budget: int) -> set[int]:
    """Edges that get dummy points, shortest first, ``budget`` points in all; the rest
    (rare: long edges in huge graphs) are drawn straight and ignored by the ordering."""
    allowed: set[int] = set()
    for k in sorted(range(len(forward)), key=lambda k: rank[forward[k][1]] - rank[forward[k][0]]):
        budget -= rank[forward[k][1]] - rank[forward[k][0]] - 1
        if budget < 0:
            break
        allowed.add(k)
    return allowed


def _initial_layers(order: list[int], rank: list[int], down: list[list[int]]) -> list[list[int]]:
    """Layers filled in depth-first order from the sources (a good start for sweeps)."""
    layers: list[list[int]] = [[] for _ in range(max(rank, default=-1) + 1)]
    seen = bytearray(len(rank))
    for root in order:
        stack = [root]
        while stack:
            v = stack.pop()
            if not seen[v]:
                seen[v] = 1
                layers[rank[v]].append(v)
                stack.extend(reversed(down[v]))
    return layers


def _order(layers: list[list[int]], up: list[list[int]], down: list[list[int]],
           sweeps: int) -> list[list[int]]:
    """Barycenter sweeps down and up (until 3 rounds bring no gain); returns the ordering
    with the fewest crossings."""
    pos = [0] * len(up)
    for layer in layers:
        for k, v in enumerate(layer):
            pos[v] = k
    best, fewest = [list(layer) for layer in layers], _crossings(layers, down, pos)
    stale = 0
    for _ in range(sweeps):
        if fewest == 0 or stale == 3:
            break
        for r in range(1, len(layers)):
            _reorder(layers[r], up, pos)
        for r in range(len(layers) - 2, -1, -1):
            _reorder(layers[r], down, pos)
        count = _crossings(layers, down, pos)
        stale = stale + 1 if count >= fewest else 0
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
    return best


def _reorder(layer: list[int], neighbours: list[list[int]], pos: list[int]) -> None:
    keys = {v: sum(pos[u] for u in neighbours[v]) / len(neighbours[v]) if neighbours[v]
            else pos[v] for v in layer}
    layer.sort(key=keys.__getitem__)
    for k, v in enumerate(layer):
        pos[v] = k


def _crossings(layers: list[list[int]], down: list[list[int]], pos: list[int]) -> int:
    """Edge crossings between consecutive layers (inversions, counted with a Fenwick tree)."""
    total = 0
    for r in range(len(layers) - 1):
        size, seen = len(layers[r + 1]), 0
        tree = [0] * (size + 1)
        for u in layers[r]:
            for p in sorted(pos[v] for v in down[u]):
                i, below = p + 1, 0
                while i > 0:
                    below += tree[i]
                    i -= i & -i
                total += seen - below
                i = p + 1
                while i <= size:
                    tree[i] += 1
                    i += i & -i
                seen += 1
    return total


def _x_coordinates(layers: list[list[int]], up: list[list[int]], down: list[list[int]],
                   width: list[float], real: int) -> list[float]:
    """Pack each layer, then pull nodes toward their neighbours' mean x, keeping spacing."""
    x = [0.0] * len(width)
    gaps: list[list[float]] = []
    for layer in layers:
        offsets, at = [], 0.0
        for k, v in enumerate(layer):
            if k:
                prev = layer[k - 1]
                at += (width[prev] + width[v]) / 2 + (NODE_GAP if prev < real and v < real
                                                      else DUMMY_GAP)
            offsets.append(at)
            x[v] = at
        gaps.append(offsets)
    both = [u + d for u, d in zip(up, down, strict=True)]
    for neighbours, step in ((up, 1), (down, -1), (up, 1), (down, -1), (both, 1)):
        rows = range(len(layers)) if step == 1 else range(len(layers) - 1, -1, -1)
        for r in rows:
            layer, offsets = layers[r], gaps[r]
            want = [sum(x[u] for u in neighbours[v]) / len(neighbours[v]) if neighbours[v]
                    else x[v] for v in layer]
            fitted = _isotonic([w - o for w, o in zip(want, offsets, strict=True)])
            for v, value, offset in zip(layer, fitted, offsets, strict=True):
                x[v] = value + offset
    return x


def _isotonic(values: list[float]) -> list[float]:
    """Least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []
    for value in values:
        total, count = value, 1.0
        while blocks and blocks[-1][0] / blocks[-1][1] > total / count:
            prev_total, prev_count = blocks.pop()
            total, count = total + prev_total, count + prev_count
        blocks.append([total, count])
    return [total / count for total, count in blocks for _ in range(int(count))]
