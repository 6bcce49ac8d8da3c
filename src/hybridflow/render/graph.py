"""The workflow graph as SVG (pure Python, no graphviz needed), DOT and Mermaid.

Nodes are placed by :func:`~hybridflow.render.layout.layout` (layered, pure Python).

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
from collections.abc import Mapping

from ..labels import label_for
from ..snapshot import JobView, WorkflowView
from ..spec import WorkflowSpec
from .layout import layout

#: fill colours by state, overridden by the workflow's ``colors: status:`` map
DEFAULT_COLORS: dict[str, str] = {
    "ready": "white", "submitted": "#FFF5CC", "pending": "#FFE9B3", "running": "#CCE5FF",
    "unknown": "#E0E0E0", "done": "#CCFFCC", "failed": "#FFCCCC", "timeout": "#FFD8B0",
    "canceled": "#E8D9F2", "skipped": "#F2F2F2", "lost": "#D9A8A8", "retrying": "#FFE0B8",
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
TAB, FOLD = 6.0, 8.0
_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}|#[0-9A-Fa-f]{8}|[A-Za-z]{3,30}")
_BAD_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
    l, r, t, b = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2  # noqa: E741 - the box's left/right/top/bottom
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
