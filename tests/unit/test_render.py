"""Renderers: SVG structure and colours, the layered layout, DOT, Mermaid, table, JSON."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from hybridflow import load as loading, render
from hybridflow.labels import label_for
from hybridflow.render.graph import DEFAULT_COLORS
from hybridflow.render.layout import Layout, layout
from hybridflow.snapshot import JobView, WorkflowView
from hybridflow.spec import WorkflowSpec
from hybridflow.states import JobState, WorkflowState

COMPAT = Path(__file__).resolve().parents[3] / "shared" / "compat"
SVG = "{http://www.w3.org/2000/svg}"
NOW = 1_700_000_000.0
STATES = [JobState.DONE, JobState.RUNNING, JobState.FAILED, JobState.READY, JobState.SKIPPED]


def make_view(wf: WorkflowSpec, states: dict[str, JobState] | None = None) -> WorkflowView:
    states = states or {}
    jobs = {name: JobView(spec=job, state=states.get(name, JobState.READY))
            for name, job in wf.jobs.items()}
    return WorkflowView(spec=wf, jobs=jobs, state=WorkflowState.RUNNING, t0=NOW - 60)


def compat_view(name: str) -> WorkflowView:
    wf = loading.load(COMPAT / f"{name}.yaml")
    return make_view(wf, dict(zip(wf.jobs, STATES, strict=True)))


def yaml_view(text: str, states: dict[str, JobState] | None = None) -> WorkflowView:
    return make_view(loading.loads(text, name="t"), states)


def nodes_of(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-job", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def shape_of(node: ET.Element) -> ET.Element:
    found = [el for el in node if el.get("class") == "node-shape"]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("sample", ["workflow-example", "workflow-style"])
def test_svg_has_every_node_and_edge_coloured_by_state(sample: str) -> None:
    view = compat_view(sample)
    svg = render.to_svg(view, now=NOW)
    root = ET.fromstring(svg)
    assert root.get("viewBox", "").startswith("0 0 ")
    nodes = nodes_of(svg)
    assert set(nodes) == set(view.jobs)
    custom = view.spec.colors["status"]
    for name, job in view.jobs.items():
        node = nodes[name]
        assert node.get("id") == f"node-{name}"
        assert node.get("data-state") == job.state.value
        want = custom.get(job.state.value, DEFAULT_COLORS[job.state.value])
        assert shape_of(node).get("fill") == want
        lines = [span.text or "" for span in node.iter(f"{SVG}tspan")]
        assert lines == label_for(job, view, NOW).split("\n")
    edges = {(p.get("data-source"), p.get("data-target")) for p in root.iter(f"{SVG}path")
             if p.get("class") == "edge"}
    assert edges == set(view.edges)
    assert json.loads(root.get("data-state-colors", "{}"))["done"] == custom["done"]


def test_svg_shapes_and_styles() -> None:
    view = compat_view("workflow-style")
    nodes = nodes_of(render.to_svg(view, now=NOW))
    tags = {name: shape_of(node).tag.removeprefix(SVG) for name, node in nodes.items()}
    # box, (default) ellipse, cylinder, folder, note
    assert tags == {"start": "rect", "end": "ellipse", "fetch-data": "path",
                    "compute": "polygon", "analyze": "polygon"}
    assert nodes["fetch-data"].find(f"{SVG}path[@class='node-detail']") is not None
    text = """
workflow:
  nodes:
    a: {exec: 'true', shape: diamond, style: 'dashed,filled'}
    b: {exec: 'true', shape: no-such-shape, style: bold}
    c: {exec: 'true', shape: box, style: rounded}
    d: {exec: 'true', shape: invhouse, style: dotted}
  dependencies: ['a,b,c,d']
"""
    nodes = nodes_of(render.to_svg(yaml_view(text)))
    a, b, c, d = (shape_of(nodes[n]) for n in "abcd")
    assert a.tag == f"{SVG}polygon" and len(a.get("points", "").split()) == 4
    assert a.get("stroke-dasharray") == "5,3"
    assert b.tag == f"{SVG}rect" and b.get("stroke-width") == "2.5"
    assert c.get("rx") == "8"
    assert len(d.get("points", "").split()) == 5 and d.get("stroke-dasharray") == "1,3"


def test_svg_escapes_labels_and_honours_custom_colors() -> None:
    text = """
workflow:
  nodes:
    a: {exec: 'true', label: '<b>&"x"\\n{name} & co'}
    b: {exec: 'true'}
  dependencies: ['a,b']
colors:
  status: {done: '#123', failed: 'red; stroke: x'}
"""
    view = yaml_view(text, {"a": JobState.DONE, "b": JobState.FAILED})
    nodes = nodes_of(render.to_svg(view))
    assert [s.text for s in nodes["a"].iter(f"{SVG}tspan")] == ['<b>&"x"', "a & co"]
    assert shape_of(nodes["a"]).get("fill") == "#112233"
    assert shape_of(nodes["b"]).get("fill") == DEFAULT_COLORS["failed"]


def test_svg_of_an_empty_workflow() -> None:
    view = make_view(WorkflowSpec(name="empty"))
    root = ET.fromstring(render.to_svg(view))
    assert not [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def random_dag(n: int, seed: int = 7) -> tuple[dict[str, tuple[float, float]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    names = [f"j{i}" for i in range(n)]
    sizes = {name: (rng.uniform(40, 160), rng.uniform(20, 80)) for name in names}
    edges = [(names[rng.randrange(max(0, i - 30), i)], names[i])
             for i in range(1, n) for _ in range(rng.randint(1, 2))]
    return sizes, edges


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return abs(a[0] - b[0]) < (a[2] + b[2]) / 2 and abs(a[1] - b[1]) < (a[3] + b[3]) / 2


def test_layout_has_no_overlaps_and_ranks_follow_edges() -> None:
    sizes, edges = random_dag(250)
    plan = layout(sizes, edges)
    boxes = list(plan.boxes.values())
    assert len(boxes) == len(sizes)
    for i, a in enumerate(boxes):
        assert all(not overlap(a, b) for b in boxes[i + 1:])
        assert a[0] - a[2] / 2 >= 0 and a[0] + a[2] / 2 <= plan.width
        assert a[1] - a[3] / 2 >= 0 and a[1] + a[3] / 2 <= plan.height
    rank = {name: r for r, layer in enumerate(plan.layers) for name in layer}
    for a, b in set(edges):
        assert rank[a] < rank[b]
        assert plan.boxes[a][1] + plan.boxes[a][3] / 2 < plan.boxes[b][1] - plan.boxes[b][3] / 2
    for layer in plan.layers:
        xs = [plan.boxes[name][0] for name in layer]
        assert xs == sorted(xs)


def test_layout_routes_start_and_end_on_the_nodes() -> None:
    sizes, edges = random_dag(60)
    plan = layout(sizes, edges)
    assert {(s, t) for s, t, _ in plan.routes} == set(edges)
    for source, target, points in plan.routes:
        sx, sy, _, sh = plan.boxes[source]
        tx, ty, _, th = plan.boxes[target]
        assert points[0] == pytest.approx((sx, sy + sh / 2))
        assert points[-1] == pytest.approx((tx, ty - th / 2))
        assert [y for _, y in points] == sorted(y for _, y in points)


def crossings(plan: Layout, edges: list[tuple[str, str]]) -> int:
    """Crossings between edges leaving the same layer (all edges here span one layer)."""
    x = {name: box[0] for name, box in plan.boxes.items()}
    rank = {name: r for r, layer in enumerate(plan.layers) for name in layer}
    pairs = [(rank[a], x[a], x[b]) for a, b in edges]
    return sum(1 for i, (r1, a1, b1) in enumerate(pairs) for r2, a2, b2 in pairs[i + 1:]
               if r1 == r2 and (a1 - a2) * (b1 - b2) < 0)


def test_crossing_reduction() -> None:
    rng = random.Random(3)
    rows = [[f"r{r}n{i}" for i in range(8)] for r in range(5)]
    edges = list(dict.fromkeys((rng.choice(rows[r - 1]), name) for r in range(1, 5)
                               for name in rows[r] for _ in range(2)))
    sizes = {name: (50.0, 30.0) for row in rows for name in row}
    assert crossings(layout(sizes, edges), edges) < 0.8 * crossings(layout(sizes, edges, sweeps=0), edges)
    tree = [(f"n{i}", f"n{2 * i + k}") for i in range(1, 32) for k in (0, 1)]
    tree_plan = layout({f"n{i}": (40.0, 20.0) for i in range(1, 64)}, tree)
    assert crossings(tree_plan, tree) == 0


def test_layout_tolerates_cycles_self_loops_and_unknown_nodes() -> None:
    sizes = {name: (40.0, 20.0) for name in "abcd"}
    plan = layout(sizes, [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d"), ("x", "a")])
    assert set(plan.boxes) == set("abcd")
    assert {(s, t) for s, t, _ in plan.routes} == {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}


def test_layout_speed_for_1000_nodes() -> None:
    sizes, edges = random_dag(1000)
    started = time.perf_counter()
    layout(sizes, edges)
    assert time.perf_counter() - started < 3.0


def test_dot_structure() -> None:
    view = compat_view("workflow-example")
    dot = render.to_dot(view, now=NOW)
    lines = dot.strip().splitlines()
    assert lines[0] == 'digraph "workflow-example" {' and lines[-1] == "}"
    start = next(line for line in lines if line.startswith('  "start" ['))
    assert 'shape="invhouse"' in start and 'fillcolor="#CCFFCC"' in start
    assert 'style="filled"' in start and 'label="start\\nCreated=N/A\\n' in start
    assert '  "fetch-data" -> "compute";' in lines
    assert sum("->" in line for line in lines) == len(view.edges)
    assert dot.count('"') % 2 == 0


def test_dot_escapes_quotes_and_backslashes() -> None:
    text = """
workflow:
  nodes:
    a: {exec: 'true', label: 'say "hi" \\ {name}', shape: weird, style: 'dashed,bogus'}
"""
    dot = render.to_dot(yaml_view(text))
    line = next(line for line in dot.splitlines() if line.startswith('  "a"'))
    assert 'label="say \\"hi\\" \\\\ a"' in line
    assert 'shape="box"' in line and 'style="filled,dashed"' in line


def test_dot_parses_with_pydot() -> None:
    pydot = pytest.importorskip("pydot")
    view = compat_view("workflow-style")
    (graph,) = pydot.graph_from_dot_data(render.to_dot(view, now=NOW))
    names = {node.get_name().strip('"') for node in graph.get_nodes()} - {"node", "graph"}
    assert names == set(view.jobs)
    assert len(graph.get_edges()) == len(view.edges)


def test_mermaid() -> None:
    text = """
workflow:
  nodes:
    a-b: {exec: 'true', shape: diamond}
    a.b: {exec: 'true', label: 'x "y" #1'}
    end: {exec: 'true'}
  dependencies: ['a-b,a.b,end']
"""
    view = yaml_view(text, {"a-b": JobState.DONE, "a.b": JobState.RUNNING})
    lines = render.to_mermaid(view).strip().splitlines()
    assert lines[0] == "flowchart TD"
    ids = [re.match(r"\s*(\w+)", line).group(1) for line in lines[1:4]]  # type: ignore[union-attr]
    assert len(set(ids)) == 3 and "end" not in ids
    assert lines[1].endswith('{"a-b"}') and "#quot;y#quot; #35;1" in lines[2]
    assert f"  {ids[0]} --> {ids[1]}" in lines and f"  {ids[1]} --> {ids[2]}" in lines
    assert "  classDef done fill:#CCFFCC,stroke:#333,color:#000" in lines
    assert f"  class {ids[1]} running" in lines


def test_status_rows_and_table() -> None:
    view = compat_view("workflow-example")
    start = dataclasses.replace(view.jobs["start"], tstart=NOW - 65, tend=NOW - 5, attempt=1,
                                exit_code=0, message="ok")
    view = dataclasses.replace(view, jobs={**view.jobs, "start": start})
    rows = render.status_rows(view, now=NOW)
    assert [row["job"] for row in rows] == ["start", "fetch-data", "compute", "analyze", "end"]
    first = rows[0]
    assert first["state"] == "done" and first["duration"] == 60.0 and first["exit_code"] == 0
    assert first["host"] == "local" and first["kind"] == "local" and first["message"] == "ok"
    assert rows[1]["start"] is None and rows[1]["duration"] is None
    json.dumps(rows)
    console = Console(record=True, width=160)
    console.print(render.status_table(view, now=NOW))
    out = console.export_text()
    assert "workflow-example" in out and "0:01:00" in out
    for name in view.jobs:
        assert name in out


def test_json_dict_round_trips() -> None:
    text = """
workflow:
  nodes:
    a: {exec: 'true', when: 2024-01-02, extra: [1, 2]}
    b: {exec: 'true'}
  dependencies: ['a,b']
"""
    view = yaml_view(text, {"a": JobState.DONE})
    data = json.loads(render.to_json(view))
    assert data == yaml.safe_load(yaml.safe_dump(render.to_json_dict(view)))
    assert data["name"] == "t" and data["state"] == "running" and data["t0"] == NOW - 60
    assert data["edges"] == [["a", "b"]]
    jobs = {job["name"]: job for job in data["jobs"]}
    assert jobs["a"]["state"] == "done" and jobs["b"]["state"] == "ready"
    assert jobs["a"]["args"] == {"when": "2024-01-02", "extra": [1, 2]}
    assert jobs["a"]["exec"] == "true" and jobs["a"]["exit_code"] is None
    assert data["counts"] == {"done": 1, "ready": 1}


def test_public_names_sorted() -> None:
    assert render.__all__ == sorted(render.__all__)
    assert all(callable(getattr(render, name)) for name in render.__all__)
