"""Families of jobs and the grouped DAG: what keeps a 10,000-job graph readable.

A family is drawn as one node with per-state counts. Three kinds, first match wins:

- ``sweep``: the jobs of one sweep node (``JobSpec.sweep``);
- ``bracket``: jobs whose names differ only in one number (``part[1-1000]`` expanded), at
  least :data:`MIN_BRACKET` of them, with no edge between two of them (a chain
  ``step1 -> step2`` is not a family);
- ``siblings``: at least :data:`MIN_SIBLINGS` other jobs with the same parents and the
  same children.

:func:`grouped_layout` lays the grouped DAG out with :func:`hybridflow.render.layout.layout`
(pure Python, no Graphviz), so the service sends positions and the browser only draws.
Pure functions: spec in, data out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..spec import JobSpec

MIN_BRACKET = 3
MIN_SIBLINGS = 8
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


@dataclass(frozen=True, slots=True)
class Family:
    """Jobs drawn as one node: ``id`` (``fam:`` + label), ``label`` (``part[1-1000]``),
    ``kind`` (sweep, bracket, siblings) and ``members`` in declaration order."""

    id: str
    label: str
    kind: str
    members: tuple[str, ...]


def _range_label(prefix: str, numbers: list[str], suffix: str) -> str:
    values = sorted(int(n) for n in numbers)
    contiguous = values == list(range(values[0], values[0] + len(values)))
    inner = f"{values[0]}-{values[-1]}" if contiguous else f"{len(values)} of {values[0]}-{values[-1]}"
    return f"{prefix}[{inner}]{suffix}"


def families(jobs: Mapping[str, JobSpec], edges: Iterable[tuple[str, str]], *,
             min_bracket: int = MIN_BRACKET, min_siblings: int = MIN_SIBLINGS) -> list[Family]:
    """The families of a workflow's jobs (each job in at most one), in order of first member."""
    pairs = [(a, b) for a, b in edges if a in jobs and b in jobs]
    parents: dict[str, set[str]] = {name: set() for name in jobs}
    children: dict[str, set[str]] = {name: set() for name in jobs}
    for a, b in pairs:
        parents[b].add(a)
        children[a].add(b)
    taken: set[str] = set()
    found: list[Family] = []

    def independent(members: list[str]) -> bool:
        inside = set(members)
        return not any(children[m] & inside for m in members)

    sweeps: dict[str, list[str]] = {}
    for name, job in jobs.items():
        if job.sweep:
            sweeps.setdefault(job.sweep, []).append(name)
    for node, members in sweeps.items():
        if len(members) >= 2:
            found.append(Family(f"fam:{node}", node, "sweep", tuple(members)))
            taken.update(members)

    numbered: dict[tuple[str, str], list[str]] = {}
    digits: dict[str, str] = {}
    for name in jobs:
        match = _NUMBERED.match(name)
        if name not in taken and match:
            numbered.setdefault((match[1], match[3]), []).append(name)
            digits[name] = match[2]
    for (prefix, suffix), members in numbered.items():
        if len(members) >= min_bracket and independent(members):
            label = _range_label(prefix, [digits[m] for m in members], suffix)
            found.append(Family(f"fam:{label}", label, "bracket", tuple(members)))
            taken.update(members)

    siblings: dict[tuple[frozenset[str], frozenset[str]], list[str]] = {}
    for name in jobs:
        if name not in taken:
            siblings.setdefault((frozenset(parents[name]), frozenset(children[name])), []).append(name)
    for members in siblings.values():
        if len(members) >= min_siblings and independent(members):
            label = f"{members[0]} +{len(members) - 1}"
            found.append(Family(f"fam:{label}", label, "siblings", tuple(members)))
            taken.update(members)
    order = {name: k for k, name in enumerate(jobs)}
    found.sort(key=lambda family: order[family.members[0]])
    return found


def grouped_edges(edges: Iterable[tuple[str, str]], group_of: Mapping[str, str]) -> list[tuple[str, str]]:
    """Edges between drawn nodes (a job, or its family's id), without duplicates or loops."""
    seen: dict[tuple[str, str], None] = {}
    for a, b in edges:
        edge = (group_of.get(a, a), group_of.get(b, b))
        if edge[0] != edge[1]:
            seen[edge] = None
    return list(seen)


GROUP_SIZE = (190.0, 58.0)  # a family: label, counts line, progress bar
CHAR_WIDTH, JOB_HEIGHT = 7.4, 30.0
#: the most jobs a family may have to be drawn one by one (expanded); larger ones are listed
EXPAND_MAX = 300


class ExpandError(ValueError):
    """A family asked to be expanded does not exist or is too large to draw job by job."""


def grouped_layout(jobs: Mapping[str, JobSpec], edges: Iterable[tuple[str, str]],
                   expand: Iterable[str] = ()) -> dict[str, Any]:
    """The grouped DAG laid out, as JSON-ready data for the web UI.

    ``nodes``: ``{id, label, kind ("job" or a family kind), members, x, y, w, h}`` with
    ``(x, y)`` the centre; ``edges``: ``{source, target, points}``; ``width``/``height``.
    A job's node id is its name; every job is in exactly one node's ``members``. The
    families named in ``expand`` (ids) are drawn job by job, each job node carrying its
    ``family``; ``expanded`` lists them (``id``, ``label``). Raises :class:`ExpandError` for
    an unknown family or one of more than :data:`EXPAND_MAX` jobs.
    """
    from .layout import layout

    edge_list = list(edges)
    fams = families(jobs, edge_list)
    opened = _opened(fams, expand)
    family_of = {member: fam.id for fam in fams if fam.id in opened for member in fam.members}
    fams = [fam for fam in fams if fam.id not in opened]
    group_of = {member: fam.id for fam in fams for member in fam.members}
    first = {fam.members[0]: fam for fam in fams}
    drawn: dict[str, dict[str, Any]] = {}
    for name in jobs:
        if name in first:
            fam = first[name]
            drawn[fam.id] = {"id": fam.id, "label": fam.label, "kind": fam.kind, "members": list(fam.members)}
        elif name not in group_of:
            drawn[name] = {"id": name, "label": name, "kind": "job", "members": [name]}
            if name in family_of:
                drawn[name]["family"] = family_of[name]
    sizes = {
        node_id: GROUP_SIZE if node["kind"] != "job" else (max(60.0, 24 + CHAR_WIDTH * len(node["label"])), JOB_HEIGHT)
        for node_id, node in drawn.items()
    }
    links = grouped_edges(edge_list, group_of)
    plan = layout(sizes, links)
    for node_id, node in drawn.items():
        cx, cy, w, h = plan.boxes[node_id]
        node.update(x=round(cx, 1), y=round(cy, 1), w=round(w, 1), h=round(h, 1))
    routes = [{"source": s, "target": t, "points": [[round(x, 1), round(y, 1)] for x, y in points]}
              for s, t, points in plan.routes]
    return {"nodes": list(drawn.values()), "edges": routes, "width": round(plan.width, 1),
            "height": round(plan.height, 1), "families": len(fams),
            "expanded": [{"id": fam_id, "label": label} for fam_id, label in opened.items()]}


def _opened(fams: list[Family], expand: Iterable[str]) -> dict[str, str]:
    """The families to draw job by job: id -> label, checked (see :func:`grouped_layout`)."""
    by_id = {fam.id: fam for fam in fams}
    opened: dict[str, str] = {}
    for fam_id in expand:
        fam = by_id.get(fam_id)
        if fam is None:
            raise ExpandError(f"no family '{fam_id}' to expand (families: {', '.join(list(by_id)[:5]) or 'none'})")
        if len(fam.members) > EXPAND_MAX:
            raise ExpandError(f"family '{fam.label}' has {len(fam.members)} jobs: too many to draw one by one "
                              f"(at most {EXPAND_MAX}); filter the table to it instead")
        opened[fam_id] = fam.label
    return opened
