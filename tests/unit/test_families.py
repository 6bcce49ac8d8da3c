"""Families of jobs for the grouped graph: brackets, sweeps, siblings; never a chain."""

from __future__ import annotations

import time

import pytest

from hybridflow.render.families import EXPAND_MAX, ExpandError, families, grouped_edges, grouped_layout
from hybridflow.spec import JobSpec


def _jobs(*names: str, sweep: dict[str, str] | None = None) -> dict[str, JobSpec]:
    return {n: JobSpec(n, exec="true", sweep=(sweep or {}).get(n)) for n in names}


def test_a_bracket_expansion_is_one_family_with_its_range() -> None:
    jobs = _jobs("start", *(f"part{i}" for i in range(1, 6)), "end")
    edges = [("start", f"part{i}") for i in range(1, 6)] + [(f"part{i}", "end") for i in range(1, 6)]
    (family,) = families(jobs, edges)
    assert (family.label, family.kind, family.members) == ("part[1-5]", "bracket", tuple(f"part{i}" for i in range(1, 6)))
    assert grouped_edges(edges, {m: family.id for m in family.members}) == [("start", "fam:part[1-5]"),
                                                                            ("fam:part[1-5]", "end")]


def test_a_chain_of_numbered_jobs_and_two_numbered_jobs_are_not_families() -> None:
    jobs = _jobs("step1", "step2", "step3", "x1", "x2")
    assert families(jobs, [("step1", "step2"), ("step2", "step3")]) == []


def test_sweeps_and_eight_siblings_with_the_same_parents_and_children() -> None:
    sweep = {f"train-lr_{v}": "train" for v in ("0.1", "0.01")}
    siblings = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    jobs = _jobs("prep", *sweep, *siblings, "odd", "report", sweep=sweep)
    edges = [("prep", s) for s in siblings] + [(s, "report") for s in siblings] + [("prep", "odd")]
    edges += [("prep", j) for j in sweep]
    found = {f.kind: f for f in families(jobs, edges)}
    assert found["sweep"].label == "train" and set(found["sweep"].members) == set(sweep)
    assert found["siblings"].members == tuple(siblings) and found["siblings"].label == "alpha +7"
    seven = families(_jobs("prep", *siblings[:7], "report"), [("prep", s) for s in siblings[:7]])
    assert seven == []  # fewer than 8 siblings stay single


def test_ten_thousand_jobs_lay_out_in_seconds_with_every_job_in_one_node() -> None:
    names = [f"j{layer:02d}_{i}" for layer in range(20) for i in range(500)]
    edges = [(f"j{layer - 1:02d}_{k}", f"j{layer:02d}_{i}") for layer in range(1, 20) for i in range(500) for k in (0, 1)]
    started = time.monotonic()
    layout = grouped_layout(_jobs(*names), edges)
    assert time.monotonic() - started < 10
    assert len(layout["nodes"]) == 20 and layout["families"] == 20
    members = [m for node in layout["nodes"] for m in node["members"]]
    assert sorted(members) == sorted(names)
    ys = [node["y"] for node in layout["nodes"]]
    assert ys == sorted(ys) and len(set(ys)) == 20  # one layer per family, top to bottom


def test_an_expanded_family_is_drawn_job_by_job_and_a_big_or_unknown_one_is_refused() -> None:
    def fan(n: int) -> tuple[dict[str, JobSpec], list[tuple[str, str]]]:
        parts = [f"part{i}" for i in range(1, n + 1)]
        return _jobs("start", *parts, "end"), [("start", p) for p in parts] + [(p, "end") for p in parts]

    jobs, edges = fan(30)
    layout = grouped_layout(jobs, edges, ["fam:part[1-30]"])
    assert layout["families"] == 0 and layout["expanded"] == [{"id": "fam:part[1-30]", "label": "part[1-30]"}]
    assert len(layout["nodes"]) == 32
    members = {n["id"]: n.get("family") for n in layout["nodes"]}
    assert members["part12"] == "fam:part[1-30]" and members["start"] is None
    assert len(layout["edges"]) == 60  # every edge of every member is drawn
    with pytest.raises(ExpandError, match="no family 'fam:nope' to expand"):
        grouped_layout(jobs, edges, ["fam:nope"])
    big_jobs, big_edges = fan(EXPAND_MAX + 1)
    with pytest.raises(ExpandError, match=f"has {EXPAND_MAX + 1} jobs: too many to draw one by one"):
        grouped_layout(big_jobs, big_edges, [f"fam:part[1-{EXPAND_MAX + 1}]"])
