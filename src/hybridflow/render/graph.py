"""The workflow graph as SVG (pure Python, no graphviz needed), DOT and Mermaid.

:func:`layout` is a layered (Sugiyama-style) drawing: ranks by longest path from the
sources, long edges split by dummy points, crossings reduced by barycenter sweeps (the
ordering with the fewest crossings is kept), and x coordinates placed by isotonic
regression so every node sits as close as the spacing allows to the mean of its
neighbours. It is O((V + E') log V) per sweep, E' counting dummy segments.

SVG contract, relied on by the web UI: each job is
``<g class="node" id="node-NAME" data-job="NAME" data-state="STATE">`` holding one element
of class ``node-shape`` that carries the state's fill colour; the root ``<svg>`` carries
``data-state-colors``, the state→colour map as JSON, so a page can recolour nodes live.
Edges are ``<path class="edge" data-source="A" data-target="B">`` ending in an arrowhead.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from ..labels import label_for
from ..snapshot import JobView, WorkflowView
from ..spec import WorkflowSpec

#: fill colours by state, overridden by the workflow's ``colors: status:`` map
DEFAULT_COLORS: dict[str, str] = {
    "ready": "white", "submitted": "#FFF5CC", "pending": "#FFE9B3", "running": "#CCE5FF",
    "unknown": "#E0E0E0", "done": "#CCFFCC", "failed": "#FFCCCC", "timeout": "#FFD8B0",
    "canceled": "#E8D9F2", "skipped": "#F2F2F2", "lost": "#D9A8A8",
}
#: graphviz shape names understood, mapped to the outline drawn in SVG
SHAPES: dict[str, str] = {
    "box": "box", "rect": "box", "rectangle": "box", "square": "box",
    "ellipse": "ellipse", "oval": "ellipse", "circle": "circle", "doublecircle": "circle",
    "diamond": "diamond", "house": "house", "invhouse": "invhouse",
    "parallelogram": "parallelogram", "trapezium": "trapezium",
    "invtrapezium": "invtrapezium", "hexagon": "hexagon", "octagon": "octagon",
    "doubleoctagon": "octagon", "cylinder": "cylinder", "folder": "folder", "tab": "folder",
    "note": "note", "plaintext": "plain", "plain": "plain", "none": "plain",
}
STYLES = frozenset({"filled", "dashed", "dotted", "bold", "rounded", "solid"})

FONT_SIZE, LINE_H, CHAR_W, PAD_X, PAD_Y = 12, 15.0, 7.0, 10.0, 6.0
RANK_GAP, NODE_GAP, DUMMY_GAP, MARGIN = 48.0, 24.0, 10.0, 12.0
TAB, FOLD = 6.0, 8.0
_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}|#[0-9A-Fa-f]{8}|[A-Za-z]{3,30}")
_BAD_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
    graph = nx.DiGraph()
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


def state_colors(spec: WorkflowSpec) -> dict[str, str]:
    """State→fill colour: :data:`DEFAULT_COLORS` updated with valid ``colors: status:``."""
    colors = dict(DEFAULT_COLORS)
    custom = spec.colors.get("status") if isinstance(spec.colors, Mapping) else None
    if isinstance(custom, Mapping):
        for state, value in custom.items():
            if isinstance(value, str) and _COLOR.fullmatch(value.strip()):
                colors[str(state)] = _expand(value.strip())
    return colors


def _expand(color: str) -> str:
    """``#abc`` as ``#aabbcc`` (graphviz needs six digits)."""
    return "#" + "".join(c * 2 for c in color[1:]) if len(color) == 4 and color[0] == "#" else color


def _jobs(view: WorkflowView) -> dict[str, JobView]:
    jobs = dict(view.jobs)
    for name, spec in view.spec.jobs.items():
        jobs.setdefault(name, JobView(spec=spec))
    return jobs


def _shape(job: JobView) -> str:
    """The outline drawn for the job: ellipse when none is given, box when unknown."""
    return SHAPES.get((job.spec.shape or "ellipse").strip().lower(), "box")


def _styles(style: str | None) -> list[str]:
    return [s for s in (t.strip().lower() for t in (style or "").split(",")) if s in STYLES]


def _size(shape: str, lines: list[str]) -> tuple[float, float]:
    tw = max(30.0, max(len(line) for line in lines) * CHAR_W) + 2 * PAD_X
    th = len(lines) * LINE_H + 2 * PAD_Y
    match shape:
        case "ellipse":
            return tw * 1.42, th * 1.42
        case "circle":
            diameter = math.hypot(tw, th)
            return diameter, diameter
        case "diamond":
            return tw * 2, th * 2
        case "house" | "invhouse":
            return tw, th * 1.5
        case "parallelogram" | "trapezium" | "invtrapezium":
            return tw + th, th
        case "hexagon":
            return tw + 0.8 * th, th
        case "octagon":
            return tw + 0.6 * th, th
        case "cylinder":
            return tw, th + 3 * min(8.0, tw / 8)
        case "folder":
            return tw, th + TAB
        case "note":
            return tw + FOLD, th
    return tw, th


def _outline(shape: str, cx: float, cy: float, w: float, h: float, attrs: str,
             rounded: bool) -> tuple[str, float]:
    """SVG for the shape (the coloured element first) and the text's vertical offset."""
    l, r, t, b = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    points: list[tuple[float, float]]
    extra, dy = "", 0.0
    match shape:
        case "ellipse":
            radii = f'rx="{w / 2:.1f}" ry="{h / 2:.1f}"'
            return f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" {radii} {attrs}/>', 0
        case "circle":
            return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{w / 2:.1f}" {attrs}/>', 0
        case "box" | "plain":
            corner = ' rx="8"' if rounded else ""
            return (f'<rect x="{l:.1f}" y="{t:.1f}" width="{w:.1f}" height="{h:.1f}"{corner} '
                    f'{attrs}/>'), 0
        case "cylinder":
            ry = min(8.0, w / 8)
            d = (f"M{l:.1f},{t + ry:.1f}A{w / 2:.1f},{ry:.1f} 0 0 1 {r:.1f},{t + ry:.1f}"
                 f"L{r:.1f},{b - ry:.1f}A{w / 2:.1f},{ry:.1f} 0 0 1 {l:.1f},{b - ry:.1f}Z")
            rim = f"M{l:.1f},{t + ry:.1f}A{w / 2:.1f},{ry:.1f} 0 0 0 {r:.1f},{t + ry:.1f}"
            return (f'<path d="{d}" {attrs}/><path class="node-detail" d="{rim}" fill="none" '
                    f'stroke="#333"/>'), ry / 2
        case "diamond":
            points = [(cx, t), (r, cy), (cx, b), (l, cy)]
        case "house":
            points, dy = [(cx, t), (r, t + h / 3), (r, b), (l, b), (l, t + h / 3)], h / 6
        case "invhouse":
            points, dy = [(l, t), (r, t), (r, b - h / 3), (cx, b), (l, b - h / 3)], -h / 6
        case "parallelogram":
            points = [(l + h / 2, t), (r, t), (r - h / 2, b), (l, b)]
        case "trapezium":
            points = [(l + h / 2, t), (r - h / 2, t), (r, b), (l, b)]
        case "invtrapezium":
            points = [(l, t), (r, t), (r - h / 2, b), (l + h / 2, b)]
        case "hexagon":
            s = 0.4 * h
            points = [(l + s, t), (r - s, t), (r, cy), (r - s, b), (l + s, b), (l, cy)]
        case "octagon":
            c = 0.3 * h
            points = [(l + c, t), (r - c, t), (r, t + c), (r, b - c), (r - c, b), (l + c, b),
                      (l, b - c), (l, t + c)]
        case "folder":
            tab = w * 0.3
            points = [(l, t), (l + tab, t), (l + tab + TAB, t + TAB), (r, t + TAB), (r, b), (l, b)]
            dy = TAB / 2
        case _:  # note
            points = [(l, t), (r - FOLD, t), (r, t + FOLD), (r, b), (l, b)]
            extra = (f'<polyline class="node-detail" points="{r - FOLD:.1f},{t:.1f} '
                     f'{r - FOLD:.1f},{t + FOLD:.1f} {r:.1f},{t + FOLD:.1f}" fill="none" '
                     f'stroke="#333"/>')
    coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<polygon points="{coords}" {attrs}/>{extra}', dy


def _esc(text: str) -> str:
    return html.escape(_BAD_XML.sub("", text), quote=True)


def _path(points: list[tuple[float, float]]) -> str:
    (x0, y0), parts = points[0], [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for x1, y1 in points[1:]:
        if abs(x1 - x0) < 0.5:
            parts.append(f"L{x1:.1f},{y1:.1f}")
        else:
            mid = (y0 + y1) / 2
            parts.append(f"C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return "".join(parts)


def to_svg(view: WorkflowView, *, now: float | None = None) -> str:
    """A standalone SVG document of the workflow, laid out by :func:`layout`."""
    colors, jobs = state_colors(view.spec), _jobs(view)
    lines = {name: label_for(job, view, now).split("\n") for name, job in jobs.items()}
    shapes = {name: _shape(job) for name, job in jobs.items()}
    plan = layout({n: _size(shapes[n], lines[n]) for n in jobs}, view.edges)
    w, h = math.ceil(plan.width), math.ceil(plan.height)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hybridflow-graph" width="{w}" '
        f'height="{h}" viewBox="0 0 {w} {h}" data-workflow="{_esc(view.name)}" '
        f'data-state-colors="{_esc(json.dumps(colors))}">\n'
        "<style>.node-shape{transition:fill .3s}.node:hover .node-shape{stroke-width:2}"
        ".edge{fill:none;stroke:#555;stroke-width:1.2}</style>\n"
        '<defs><marker id="hf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>\n'
        f'<rect class="background" width="{w}" height="{h}" fill="white"/>\n'
        '<g class="edges" fill="none" stroke="#555" stroke-width="1.2">'
    )
    out = [head]
    for source, target, points in plan.routes:
        tx, ty = points[-1]
        if shapes[target] == "folder" and ty < plan.boxes[target][1]:  # arrive below the tab
            points = [*points[:-1], (tx, ty + TAB)]
        out.append(f'<path class="edge" data-source="{_esc(source)}" data-target="{_esc(target)}"'
                   f' d="{_path(points)}" marker-end="url(#hf-arrow)"/>')
    out.append(f'</g><g class="nodes" font-family="Helvetica, Arial, sans-serif" '
               f'font-size="{FONT_SIZE}" text-anchor="middle" fill="#111">')
    for name, job in jobs.items():
        cx, cy, bw, bh = plan.boxes[name]
        state, styles = job.state.value, _styles(job.spec.style)
        stroke = "none" if shapes[name] == "plain" else "#333"
        attrs = (f'class="node-shape" fill="{_esc(colors.get(state, "white"))}" stroke="{stroke}"'
                 f' stroke-width="{2.5 if "bold" in styles else 1}"')
        if "dashed" in styles or "dotted" in styles:
            attrs += f' stroke-dasharray="{"5,3" if "dashed" in styles else "1,3"}"'
        shape_svg, dy = _outline(shapes[name], cx, cy, bw, bh, attrs, "rounded" in styles)
        base = cy + dy - len(lines[name]) * LINE_H / 2 + LINE_H * 0.75
        spans = "".join(f'<tspan x="{cx:.1f}" y="{base + k * LINE_H:.1f}">{_esc(line)}</tspan>'
                        for k, line in enumerate(lines[name]))
        out.append(f'<g class="node" id="node-{_esc(name)}" data-job="{_esc(name)}" '
                   f'data-state="{state}"><title>{_esc(name)}</title>{shape_svg}'
                   f"<text>{spans}</text></g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _dq(text: str) -> str:
    """A DOT double-quoted string (``\\n`` for line breaks)."""
    body = _BAD_XML.sub("", text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + body.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(view: WorkflowView, *, now: float | None = None) -> str:
    """Graphviz DOT source: label, shape, style (always ``filled``) and fillcolor per job."""
    colors, jobs = state_colors(view.spec), _jobs(view)
    out = [f"digraph {_dq(view.name)} {{", '  graph [rankdir=TB];',
           '  node [fontname="Helvetica", fontsize=10];']
    for name, job in jobs.items():
        styles = ["filled", *(s for s in _styles(job.spec.style) if s != "filled")]
        attrs = {"label": label_for(job, view, now), "style": ",".join(styles),
                 "fillcolor": colors.get(job.state.value, "white")}
        if job.spec.shape:
            shape = job.spec.shape.strip().lower()
            attrs["shape"] = shape if shape in SHAPES else "box"
        body = ", ".join(f"{key}={_dq(value)}" for key, value in attrs.items())
        out.append(f"  {_dq(name)} [{body}];")
    out += [f"  {_dq(a)} -> {_dq(b)};" for a, b in view.edges if a in jobs and b in jobs]
    out.append("}")
    return "\n".join(out) + "\n"


_MERMAID_SHAPES = {
    "box": ("[", "]"), "plain": ("[", "]"), "ellipse": ("([", "])"), "circle": ("((", "))"),
    "diamond": ("{", "}"), "hexagon": ("{{", "}}"), "cylinder": ("[(", ")]"),
    "parallelogram": ("[/", "/]"), "house": ("[/", "\\]"), "trapezium": ("[/", "\\]"),
    "invhouse": ("[\\", "/]"), "invtrapezium": ("[\\", "/]"),
}


def _mermaid_text(text: str) -> str:
    for char, code in (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"),
                       (">", "#gt;")):
        text = text.replace(char, code)
    return _BAD_XML.sub("", text).replace("\n", "<br/>")


def to_mermaid(view: WorkflowView, *, now: float | None = None) -> str:
    """A Mermaid ``flowchart TD`` with one ``classDef`` per state that occurs."""
    colors, jobs = state_colors(view.spec), _jobs(view)
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in jobs:
        base = candidate = "job_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        while candidate in taken:
            candidate = f"{base}_{len(taken)}"
        ids[name] = candidate
        taken.add(candidate)
    out, styled = ["flowchart TD"], []
    by_state: dict[str, list[str]] = {}
    for name, job in jobs.items():
        shape, styles = _shape(job), _styles(job.spec.style)
        rounded = "rounded" in styles and shape == "box"
        opening, closing = ("(", ")") if rounded else _MERMAID_SHAPES.get(shape, ("[", "]"))
        label = _mermaid_text(label_for(job, view, now))
        out.append(f'  {ids[name]}{opening}"{label}"{closing}')
        by_state.setdefault(job.state.value, []).append(ids[name])
        if "dashed" in styles or "dotted" in styles:
            dashes = "5 3" if "dashed" in styles else "1 3"
            styled.append(f"  style {ids[name]} stroke-dasharray:{dashes}")
    out += [f"  {ids[a]} --> {ids[b]}" for a, b in view.edges if a in jobs and b in jobs]
    for state, members in by_state.items():
        out.append(f"  classDef {state} fill:{colors.get(state, 'white')},stroke:#333,color:#000")
        out.append(f"  class {','.join(members)} {state}")
    return "\n".join(out + styled) + "\n"
