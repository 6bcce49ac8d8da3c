"""Workflow spec: cloudmesh-cc compatibility, expansion, round trips and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hybridflow import load as loading, spec as specs
from hybridflow.errors import SpecError
from hybridflow.names import chain_edges, expand, split_list

from support import COMPAT


@pytest.mark.parametrize("name", ["workflow-example.yaml", "workflow-style.yaml"])
def test_compat_samples_load(name: str) -> None:
    wf = loading.load(COMPAT / name)
    assert list(wf.jobs) == ["start", "end", "fetch-data", "compute", "analyze"]
    assert wf.edges == (("start", "fetch-data"), ("fetch-data", "compute"), ("compute", "analyze"), ("analyze", "end"))
    assert wf.colors["status"]["done"] == "#CCFFCC"
    assert wf.jobs["start"].exec == "echo hello"
    start = wf.jobs["start"]
    assert (start.user, start.host, start.shape) == ("grey", "local", "invhouse" if "example" in name else "box")
    assert wf.name == Path(name).stem


def test_expansion_forms() -> None:
    assert expand("x[1-3]") == ["x1", "x2", "x3"]
    assert expand("x[1-2,5]") == ["x1", "x2", "x5"]
    assert expand("x[a,b]") == ["xa", "xb"]
    assert expand("x[08-10]") == ["x08", "x09", "x10"]
    assert split_list("a,b[1-2],c") == ["a", "b1", "b2", "c"]
    assert chain_edges("start,s[1-3]") == [("start", "s1"), ("s1", "s2"), ("s2", "s3")]


def test_dependencies_empty_forms(write_workflow) -> None:
    for deps in ("dependencies: {}", "", "dependencies: []"):
        path = write_workflow(f"workflow:\n  nodes:\n    a: {{exec: 'true'}}\n  {deps}\n")
        assert loading.load(path).edges == ()


def test_bracket_node_keys_declare_several_jobs(write_workflow) -> None:
    path = write_workflow(
        """
        workflow:
          nodes:
            p[1-3]: {exec: 'echo $HF_JOB'}
            end: {exec: 'true'}
          dependencies: [p1,end, 'p[2-3],end']
        """
    )
    wf = loading.load(path)
    assert list(wf.jobs) == ["p1", "p2", "p3", "end"]
    assert ("p3", "end") in wf.edges and ("p2", "p3") in wf.edges


def test_extra_keys_are_kept_and_round_trip(write_workflow, tmp_path: Path) -> None:
    path = write_workflow(
        """
        name: demo
        workflow:
          nodes:
            a: {exec: 'true', partition: debug, env: {X: '1'}, status: done, progress: 50}
            b: {exec: 'true', shape: box}
          dependencies: [a,b]
        colors: {status: {done: green}}
        """
    )
    wf = loading.load(path)
    assert wf.name == "demo"
    assert dict(wf.jobs["a"].args) == {"partition": "debug"}
    assert wf.jobs["a"].env == {"X": "1"}
    text = specs.dump_yaml(wf, {"a": ("done", 100), "b": ("ready", 0)})
    assert yaml.safe_load(text)["workflow"]["nodes"]["a"]["status"] == "done"
    again = loading.loads(text, name="x", base_dir=wf.base_dir)
    assert again.jobs == wf.jobs and again.edges == wf.edges and again.colors == wf.colors


def test_default_script_is_name_sh(write_workflow) -> None:
    path = write_workflow("workflow:\n  nodes:\n    build: {}\n", build__sh="echo built\n")
    assert loading.load(path).jobs["build"].script == "build.sh"


BAD = [
    ("workflow:\n  nodes:\n    a: {exec: 'x'\n", "YAML syntax error", ":4:"),
    ("workflow:\n  nodes:\n    a: {exec: 'x'}\n    b: {exec: 'y'}\n  dependencies: ['a,b,a']\n", "cycle: a -> b -> a", "dependencies"),
    ("workflow:\n  nodes:\n    a: {exec: 'x'}\n  dependencies: [a,zz]\n", "unknown job 'zz'", "dependencies"),
    ("workflow:\n  nodes:\n    a: {exec: 'x', kind: pbs}\n", "unknown kind 'pbs' (valid: local, lsf, slurm, ssh, wsl)", "job 'a'"),
    ("workflow:\n  nodes:\n    'a b': {exec: 'x'}\n", "invalid job name 'a b'", "field 'name'"),
    ("workflow:\n  nodes:\n    -a: {exec: 'x'}\n", "invalid job name '-a'", "job '-a'"),
    ("workflow:\n  nodes:\n    .a: {exec: 'x'}\n", "invalid job name '.a'", "job '.a'"),
    ("workflow:\n  nodes:\n    a: {script: nothere.sh}\n", "file 'nothere.sh' does not exist", "field 'script'"),
    ("workflow:\n  nodes:\n    a: {kind: local}\n", "neither 'script' nor 'exec' given and no default script 'a.sh'", "job 'a'"),
    ("just a string\n", "expected a top-level 'workflow:' mapping", "wf.yaml"),
    ("workflow:\n  nodes:\n    a: !!python/object:os.system {}\n", "YAML", "wf.yaml"),
]


@pytest.mark.parametrize(("text", "problem", "where"), BAD)
def test_bad_input_is_one_clear_line(write_workflow, text: str, problem: str, where: str) -> None:
    path = write_workflow(text)
    with pytest.raises(SpecError) as info:
        loading.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert problem in message
    assert where in message
    assert str(path) in message


def test_expansion_bomb_is_an_error_not_an_oom() -> None:
    with pytest.raises(SpecError, match="expands to more than 100000 names"):
        expand("x[1-1000000000]")
    with pytest.raises(SpecError, match="expands to more than"):
        split_list("a,x[1-1000][1-1000]")
